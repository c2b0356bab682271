"""A sequential study's plan as the grid and the report read it: units failed for good are
never asked for again, the comparisons they block are stalled, and the report's data."""

from __future__ import annotations

import dataclasses
import json

from search.analysis import STALLED, analyze, plan_seeds, rule_of, seed_plan, study_rule
from search.analysis.allocation import CAPPED, OPEN
from tests.search.analysis.synthetic import record

RULE = rule_of({})  # the defaults: whatever they are, the facts below hold
WIDE, NARROW = "cnn:width=16,depth=1", "cnn:width=8,depth=1"
# Per seed, the wider cell minus the narrower: +5 pp on average but too noisy for the first
# look to decide or to give up on.
STEPS = (0.02, 0.08, 0.05, 0.03, 0.07, 0.04, 0.06, 0.05, 0.05, 0.05)


def study(seeds: int, failed: tuple[tuple[int, int], ...] = ()) -> list:
    """Two CNN widths with ``seeds`` complete seeds each, and trials failed for good
    (width, seed)."""
    out = []
    for seed in range(seeds):
        for width, acc in ((8, 0.80), (16, 0.80 + STEPS[seed])):
            out.append(record(len(out), "cnn", {"width": width, "depth": 1}, seed, acc,
                              params=width * 100))
    for width, seed in failed:
        out.append(record(len(out), "cnn", {"width": width, "depth": 1}, seed, None,
                          state="FAIL", final_failure=True))
    return out


def test_an_open_comparison_asks_for_its_next_seeds_in_both_cells():
    plan = seed_plan(study(RULE.minimum), RULE)
    assert {c.state for c in plan.contrasts} == {OPEN}  # the width step, best vs runner-up
    assert plan.units == plan_seeds(study(RULE.minimum), RULE).units
    assert {(NARROW, RULE.minimum), (WIDE, RULE.minimum)} <= set(plan.units)
    assert plan.seeds == {NARROW: RULE.minimum, WIDE: RULE.minimum}
    assert plan.trainings == 2 * RULE.minimum and plan.fixed == 2 * RULE.cap


def test_a_unit_failed_for_good_is_never_asked_for_and_stalls_its_comparisons():
    records = study(RULE.minimum, failed=((16, RULE.minimum),))
    assert records[-1].final_failure and not records[-1].complete
    plan = seed_plan(records, RULE)
    assert (WIDE, RULE.minimum) in plan_seeds(records, RULE).units  # the planner cannot know
    assert (WIDE, RULE.minimum) not in plan.units and (NARROW, RULE.minimum) in plan.units
    assert plan.failed == ((WIDE, RULE.minimum),)
    assert {c.state for c in plan.contrasts} == {STALLED}
    assert "2 stalled" in plan.summary()
    # Trained again later (e.g. after a fix), the unit counts and nothing is stalled.
    retried = [*records, dataclasses.replace(study(RULE.minimum + 1)[-1], number=99)]
    assert STALLED not in {c.state for c in seed_plan(retried, RULE).contrasts}


def test_the_cells_of_the_grid_start_with_the_minimum_before_any_trial():
    plan = seed_plan([], RULE, cells=[NARROW, WIDE])
    assert sorted(plan.units) == sorted((c, s) for c in (NARROW, WIDE)
                                        for s in range(RULE.minimum))
    assert plan.seeds == {NARROW: 0, WIDE: 0} and not plan.contrasts


def test_at_the_cap_the_plan_asks_for_nothing_and_says_why_each_cell_has_its_seeds():
    plan = seed_plan(study(RULE.cap), RULE)
    assert not plan.units
    assert all(c.state != OPEN for c in plan.contrasts)
    line = plan.summary()
    assert line.startswith(f"sequential seeds: {2 * RULE.cap} trainings ({2 * RULE.cap} with "
                           f"{RULE.cap} seeds per cell); ")
    assert f"of {len(plan.contrasts)} comparisons decided" in line
    for cell in (NARROW, WIDE):
        reasons = plan.why(cell)
        assert reasons and all(cell in (c.a, c.b) for c in reasons)
    if any(c.state == CAPPED for c in plan.contrasts):
        assert "capped" in line


def test_the_report_data_has_a_sequential_block_only_for_a_sequential_study():
    records = study(RULE.minimum)
    assert "sequential" not in analyze(records).to_dict()
    assert study_rule({"mode": "grid"}) is None
    rule = study_rule({"sequential": dataclasses.asdict(RULE)})
    block = analyze(records, rule=rule).to_dict()["sequential"]
    json.dumps(block, allow_nan=False)  # plain JSON
    assert rule_of(block["rule"]) == RULE
    assert block["trainings"] == 2 * RULE.minimum
    assert block["fixed_design"] == {"seeds_per_cell": RULE.cap, "trainings": 2 * RULE.cap}
    assert block["seeds_per_cell"] == {NARROW: RULE.minimum, WIDE: RULE.minimum}
    assert {c["state"] for c in block["contrasts"]} == {OPEN} and block["counts"]["open"] == 2
    assert [tuple(u) for u in block["asks_for"]] == list(seed_plan(records, RULE).units)
