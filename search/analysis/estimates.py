"""Every estimate again without the premature stops: each effect, depth step and
interaction under one name, with every run and with the flagged runs left out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from search.analysis.cells import axes, settings_key
from search.analysis.effects import DepthStep, Effect, Interaction
from search.stats import Interval
from spaces.family import step_words

# An estimate's unique key -> (its name, its ``at``, pooled, the estimate, its family).
Estimates = dict[str, tuple[str, dict[str, Any], bool, Interval, str]]


def effect_name(knob: str, step: str, against: str | None) -> str:
    """E.g. ``width per doubling of width``, ``depth per added block``, ``depth per
    doubling of params``."""
    return f"{knob} per " + (f"doubling of {against}" if against else step_words(knob, step))


def interaction_name(family: str) -> str:
    """E.g. ``width x depth interaction (per doubling of width per block)``, in the words
    of the family's declared axes."""
    wide, deep = axes(family)
    return f"{wide.knob} x {deep.knob} interaction (per {wide.words} per {deep.step})"


@dataclass(frozen=True)
class Sensitivity:
    """One estimate with every run and again without the premature stops
    (:func:`premature_stops`): ``estimate`` names it (e.g. ``width per doubling of params``),
    ``at`` as the estimate's own; ``without`` is None where it cannot be made then."""

    estimate: str
    at: dict[str, Any]
    pooled: bool
    all_runs: Interval
    without: Interval | None
    family: str = ""


def named_estimates(width: Iterable[Effect], depth: Iterable[Effect],
                    per_size: Iterable[Effect], interactions: Iterable[Interaction],
                    steps: Iterable[DepthStep]) -> Estimates:
    """Every effect, interaction and depth step by a name and its ``at``."""
    out = {}
    for e in (*width, *depth, *per_size):
        name = effect_name(e.knob, e.step, e.against)
        out[name + settings_key(e.at) + str(e.pooled)] = (name, e.at, e.pooled, e.estimate,
                                                          e.family)
    for i in interactions:
        name = interaction_name(i.family)
        out[name + settings_key(i.at)] = (name, i.at, True, i.estimate, i.family)
    for st in steps:
        name = f"{axes(st.family)[1].knob} step {st.depths[0]}->{st.depths[1]}"
        out[name + settings_key(st.at) + str(st.pooled)] = (name, st.at, st.pooled,
                                                            st.estimate, st.family)
    return out


def sensitivity(full: Estimates, reduced: Estimates) -> list[Sensitivity]:
    """Each estimate of ``full`` beside the same one in ``reduced`` (None where missing)."""
    return [Sensitivity(name, at, pooled, est,
                        reduced[key][3] if key in reduced else None, family)
            for key, (name, at, pooled, est, family) in full.items()]
