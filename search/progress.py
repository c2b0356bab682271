"""Where a run stands: units done of the study's total, this worker's trials, elapsed, ETA.

The ETA comes from a cost model calibrated on the study's own finished trials, because
trial times in one grid span two orders of magnitude (a 2k-parameter net and a 450k one)
and a rate of units per second would be wrong at every step: seconds per epoch are
fitted as ``a + b x (forward FLOPs x training images)`` over the finished trials (least
squares on relative error: the small, overhead-bound nets count as much as the large
ones), each remaining unit is charged that times the epochs it is expected to run (the
fixed count, or for converged training the mean its cell's seeds ran so far, else the
mean of all finished trials), at the cell's own measured seconds per epoch once one of its
seeds has finished, plus the mean time
a trial spends outside ``fit`` (build, test evaluation, storage); the sum is shared by the
workers running now. Rendering is tqdm's: a live bar on a terminal, plain lines otherwise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from search.config import TrainConfig
from storage import records as R

HELD = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE)


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def epoch_seconds_model(finished: list[FrozenTrial], images: int
                        ) -> Callable[[float], float] | None:
    """Seconds per epoch as a function of forward FLOPs, from finished trials (or None)."""
    stored = [R.attrs(t) for t in finished]
    points = [(a[R.FLOPS] * images, a[R.TRAIN_SECONDS] / a[R.EPOCHS_RUN]) for a in stored
              if a.get(R.EPOCHS_RUN) and a.get(R.FLOPS)]
    if not points:
        return None
    x, y = np.array(points, dtype=float).T
    if len(set(x)) >= 2:
        b, a = np.polyfit(x, y, 1, w=1 / y)
        if b >= 0:
            return lambda work: max(a + b * work, 0.0)
    rate = y.sum() / x.sum()  # one size seen so far: proportional
    return lambda work: rate * work


class Progress:
    """Reports each finished trial and keeps one status line up to date (``quiet``: neither).

    ``units`` maps every grid cell to the seeds this command asks for from the start;
    ``most`` to the seeds it may come to ask for (a sequential grid's cap; default
    ``units``): a unit below the cap counts once the study holds a trial of it (the plan
    queued it), so the count and the ETA grow with the plan. ``cell_flops`` maps every
    cell to its forward FLOPs per example (empty for a search, which has no ETA: its
    remaining architectures are not known).
    """

    def __init__(self, study: optuna.Study, train: TrainConfig, images: int,
                 units: Mapping[str, int], cell_flops: Mapping[str, int],
                 line: Callable[[FrozenTrial], str], stream: TextIO = sys.stdout,
                 quiet: bool = False, most: Mapping[str, int] | None = None) -> None:
        self.study, self.train, self.images = study, train, images
        self.units, self.cell_flops, self.line = units, cell_flops, line
        self.most = units if most is None else most
        self.stream, self.quiet = stream, quiet
        self.live = stream.isatty() and not quiet
        self.start, self.mine, self.outside = time.monotonic(), 0, 0.0
        self.epoch_text = ""
        total = sum(units.values()) or None
        self.bar = tqdm(total=total, file=stream, disable=not self.live, dynamic_ncols=True,
                        bar_format="{n_fmt}/{total_fmt} units |{bar:20}| {postfix}",
                        leave=False)
        self._refresh()

    def _asked(self, trials: list[FrozenTrial]) -> set[tuple[str, int]]:
        """This command's units: its starting seeds and those the plan has queued since and
        still holds (waiting, running or settled; not a dropped one), extra seeds queued by
        a larger run (beyond ``most``) not counted."""
        keys = {(cell, seed) for cell, n in self.units.items() for seed in range(n)}
        return keys | {key for t in trials
                       if (key := (t.user_attrs.get(R.CELL), t.user_attrs.get(R.SEED)))[0]
                       in self.most and key[1] is not None and key[1] < self.most[key[0]]
                       and (t.state in HELD or t.user_attrs.get(R.FINAL_FAILURE))}

    def _settled(self, trials: list[FrozenTrial], asked: set[tuple[str, int]]
                 ) -> dict[tuple[str, int], FrozenTrial]:
        """The ``asked`` units that are settled (complete, or failed for good)."""
        return {key: t for t in trials
                if (key := (t.user_attrs.get(R.CELL), t.user_attrs.get(R.SEED))) in asked
                and (t.state == TrialState.COMPLETE or t.user_attrs.get(R.FINAL_FAILURE))}

    def eta(self, trials: list[FrozenTrial]) -> float | None:
        """Seconds until every unit is settled, or None without a model yet."""
        if not self.cell_flops:
            return None
        asked = self._asked(trials)
        done = self._settled(trials, asked)
        finished = [t for t in done.values() if t.state == TrialState.COMPLETE]
        model = epoch_seconds_model(finished, self.images)
        if model is None:
            return None
        epochs = self._expected_epochs(finished)
        measured = self._cell_epoch_seconds(finished)

        def epoch_seconds(cell: str | None) -> float:
            """The cell's own measured seconds per epoch, else the FLOPs model's."""
            if cell in measured:
                return measured[cell]
            return model(self.cell_flops.get(cell, 0) * self.images)

        per_trial = self.outside / self.mine if self.mine else 0.0
        remaining = sum(epochs(cell) * epoch_seconds(cell) + per_trial
                        for cell, seed in asked - done.keys())
        running = [t for t in trials if t.state == TrialState.RUNNING]
        for t in running:  # the part of a running trial that is already done
            spent = time.time() - t.datetime_start.timestamp() if t.datetime_start else 0.0
            cell = t.user_attrs.get(R.CELL)
            remaining -= min(spent, epochs(cell) * epoch_seconds(cell))
        return max(remaining, 0.0) / max(1, len(running))

    @staticmethod
    def _cell_epoch_seconds(finished: list[FrozenTrial]) -> dict[str, float]:
        """Mean seconds per epoch of each cell's finished seeds: one line in FLOPs misses
        cells by 20-40 % (measured on the default study), a cell's own seeds do not."""
        rates: dict[str, list[float]] = {}
        for t in finished:
            a = R.attrs(t)
            if a.get(R.EPOCHS_RUN) and a.get(R.TRAIN_SECONDS) is not None:
                rates.setdefault(a.get(R.CELL), []).append(a[R.TRAIN_SECONDS] / a[R.EPOCHS_RUN])
        return {cell: float(np.mean(r)) for cell, r in rates.items()}

    def _expected_epochs(self, finished: list[FrozenTrial]) -> Callable[[str], float]:
        """Epochs a unit of a cell will run: the fixed count; or, under converged training,
        the mean its cell's finished seeds ran (dense nets stop far earlier than small
        CNNs), else the mean over every finished trial."""
        if self.train.stop != "converged":
            return lambda cell: float(self.train.epochs)
        runs: dict[str, list[int]] = {}
        for a in map(R.attrs, finished):
            if a.get(R.EPOCHS_RUN):
                runs.setdefault(a.get(R.CELL), []).append(a[R.EPOCHS_RUN])
        overall = float(np.mean([e for es in runs.values() for e in es]))
        return lambda cell: float(np.mean(runs[cell])) if cell in runs else overall

    def status(self, trials: list[FrozenTrial] | None = None) -> str:
        """The status line, from ``trials`` when the caller has just read them."""
        trials = self.study.get_trials(deepcopy=False) if trials is None else trials
        parts = [f"this worker {self.mine}", f"elapsed {_clock(time.monotonic() - self.start)}"]
        if self.cell_flops:
            eta = self.eta(trials)
            parts.append(f"ETA {_clock(eta)}" if eta is not None else "ETA after 1st trial")
            asked = self._asked(trials)
            self.bar.total, self.bar.n = len(asked), len(self._settled(trials, asked))
        else:
            complete = [t for t in trials if t.state == TrialState.COMPLETE]
            pruned = sum(t.state == TrialState.PRUNED for t in trials)
            best = max((t.value for t in complete if t.value is not None), default=None)
            self.bar.n = len(complete) + pruned
            parts.append(f"best val {best:.4f}" if best is not None else "no trial done")
            parts.append(f"{pruned} pruned")
        if self.epoch_text:
            parts.append(self.epoch_text)
        return " · ".join(parts)

    def _refresh(self) -> None:
        if self.live:
            self.bar.set_postfix_str(self.status())

    def epoch(self, trial: int, epoch: int) -> None:
        """Called after every epoch of the running trial (a Keras callback)."""
        self.epoch_text = f"trial {trial} epoch {epoch + 1}/{self.train.epochs}"
        self._refresh()

    def trial_done(self, trial: FrozenTrial) -> None:
        self.mine += 1
        if trial.state == TrialState.COMPLETE:
            wall = ((trial.datetime_complete - trial.datetime_start).total_seconds()
                    if trial.datetime_complete and trial.datetime_start else 0.0)
            self.outside += max(0.0, wall - R.attrs(trial).get(R.TRAIN_SECONDS, 0.0))
        self.epoch_text = ""
        if self.quiet:
            return
        if self.live:
            self.bar.write(self.line(trial), file=self.stream)
            self._refresh()
        else:
            trials = self.study.get_trials(deepcopy=False)  # one read for both lines
            asked = self._asked(trials)
            done = len(self._settled(trials, asked))
            head = f"{done}/{len(asked)} units · " if asked else ""
            print(f"{self.line(trial)}\n    {head}{self.status(trials)}", file=self.stream,
                  flush=True)

    def close(self) -> None:
        self.bar.close()
