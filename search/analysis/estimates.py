"""Every estimate again without the premature stops: each effect, depth step and
interaction under one name, with every run and with the flagged runs left out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from search.analysis.cells import CellStats, axes, settings_key
from search.analysis.effects import (
    DepthStep,
    Effect,
    Interaction,
    depth_effects,
    depth_steps,
    size_effects,
    width_depth_interactions,
    width_effects,
)
from search.stats import Interval
from spaces.family import step_words


@dataclass(frozen=True)
class Named:
    """An effect, interaction or depth step under its name (e.g. ``depth step 1->2``), with
    its ``at``, the interval and the per-seed values it was made from."""

    name: str
    at: dict[str, Any]
    pooled: bool
    estimate: Interval
    per_seed: dict[int, float]
    family: str


# An estimate's unique key (its name, ``at`` and pooling) -> the estimate.
Estimates = dict[str, Named]


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


def estimates_of(cells: Sequence[CellStats]) -> tuple[
        list[Effect], list[Effect], list[Effect], list[Interaction], list[DepthStep]]:
    """Every estimate the cells allow: width and depth effects, both per doubling of
    parameters and FLOPs, interactions and depth steps (:func:`named_estimates`' order)."""
    return (width_effects(cells), depth_effects(cells), size_effects(cells),
            width_depth_interactions(cells), depth_steps(cells))


def named_estimates(width: Iterable[Effect], depth: Iterable[Effect],
                    per_size: Iterable[Effect], interactions: Iterable[Interaction],
                    steps: Iterable[DepthStep]) -> Estimates:
    """Every effect, interaction and depth step by a name and its ``at``."""
    found = [Named(effect_name(e.knob, e.step, e.against), e.at, e.pooled, e.estimate,
                   e.per_seed, e.family) for e in (*width, *depth, *per_size)]
    found += [Named(interaction_name(i.family), i.at, True, i.estimate, i.per_seed, i.family)
              for i in interactions]
    found += [Named(f"{axes(st.family)[1].knob} step {st.depths[0]}->{st.depths[1]}", st.at,
                    st.pooled, st.estimate, st.per_seed, st.family) for st in steps]
    return {x.name + settings_key(x.at) + str(x.pooled): x for x in found}


def sensitivity(full: Estimates, reduced: Estimates) -> list[Sensitivity]:
    """Each estimate of ``full`` beside the same one in ``reduced`` (None where missing)."""
    return [Sensitivity(x.name, x.at, x.pooled, x.estimate,
                        reduced[key].estimate if key in reduced else None, x.family)
            for key, x in full.items()]
