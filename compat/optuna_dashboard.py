"""optuna-dashboard internals this project relies on (checked against optuna-dashboard 0.21.0
and Optuna 5.0.0)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna


def sort_saved_figures_by_id() -> None:
    """Make the dashboard list a study's saved figures in the order of their ids.

    optuna-dashboard 0.21.0 collects the figure ids in a set, so the study page lists them
    in string-hash order, a different one on every start, and offers no option to sort.
    The function its app calls to collect them, ``optuna_dashboard._app
    .get_plotly_graph_objects``, is wrapped, once per process, to return them sorted.
    """
    from optuna_dashboard import _app

    collect = _app.get_plotly_graph_objects
    if getattr(collect, "sorted_by_id", False):
        return

    def sorted_by_id(system_attrs: dict[str, Any]) -> dict[str, str]:
        return dict(sorted(collect(system_attrs).items()))

    sorted_by_id.sorted_by_id = True  # type: ignore[attr-defined]
    _app.get_plotly_graph_objects = sorted_by_id


def saved_by_dashboard(study: optuna.Study) -> tuple[dict[str, str], str]:
    """The graph objects (id -> Plotly JSON) and the note body optuna-dashboard has saved
    in ``study`` (empty when none).

    optuna-dashboard 0.21.0 saves them with public functions (``save_plotly_graph_object``,
    ``save_note``) but has no public reader: its own ``_custom_plot_data
    .get_plotly_graph_objects`` and ``_note.get_note_from_system_attrs`` read them from the
    study's system attributes, which Optuna 5.0.0 exposes only through the study's private
    ``_storage`` and ``_study_id`` (the handle optuna-dashboard's save functions write
    through).
    """
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects
    from optuna_dashboard._note import get_note_from_system_attrs

    stored = study._storage.get_study_system_attrs(study._study_id)
    return get_plotly_graph_objects(stored), get_note_from_system_attrs(stored, None)["body"]
