"""Optuna's own plots of a search study (history, importances, parallel coordinates): on the
page, never saved to the dashboard, which draws them itself."""

from __future__ import annotations

import optuna

from search.report.figure import Figure


def optuna_figures(study: optuna.Study) -> list[Figure]:
    """Optuna's history, importances (PED-ANOVA: deterministic, needs no scikit-learn)
    and parallel coordinates."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return []
    best = study.best_trial
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    top = ", ".join(f"{k} {v:.2f}" for k, v in list(importances.items())[:3])
    chosen = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in best.params.items())
    return [
        Figure("optimization-history", "Optimization history",
               f"Validation accuracy of {len(complete)} complete trials; the best, "
               f"{best.value:.4f}, came at trial {best.number}.",
               optuna.visualization.plot_optimization_history(study), scaling=False),
        Figure("param-importances", "Parameter importances",
               f"PED-ANOVA importance of each parameter for validation accuracy; the largest: "
               f"{top}.",
               optuna.visualization.plot_param_importances(study, evaluator=evaluator),
               scaling=False),
        Figure("parallel-coordinate", "Parallel coordinates",
               f"Each line is one of {len(complete)} complete trials, coloured by validation "
               f"accuracy; the best used {chosen}.",
               optuna.visualization.plot_parallel_coordinate(study), scaling=False),
    ]
