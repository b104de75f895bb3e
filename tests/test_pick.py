"""Picking one configuration from hand-made fronts."""

from __future__ import annotations

import pandas as pd
import pytest

from codesign.errors import InputError
from codesign.metrics import METRICS, parse_rule
from codesign.pick import knee_distance, pick

OBJ = [("accuracy@1d", "maximize"), ("latency_us", "minimize")]


def table(rows):
    df = pd.DataFrame(rows, columns=["number", "accuracy@1d", "latency_us", "feasible"])
    df["state"] = "COMPLETE"
    df["accuracy"] = df["accuracy@1d"]
    return df


FRONT = table([(0, 0.70, 50.0, True), (1, 0.85, 80.0, True), (2, 0.90, 200.0, True),
               (3, 0.95, 400.0, True)])


def test_knee_point_is_closest_to_the_ideal():
    chosen = pick(FRONT, FRONT, [], OBJ).chosen
    assert chosen["number"] == 1


def test_knee_distance_scales_each_objective():
    d = knee_distance(FRONT, OBJ)
    assert d[0] == pytest.approx(1.0)  # worst accuracy, best latency
    assert d[3] == pytest.approx(1.0)  # best accuracy, worst latency


def test_requirements_filter_the_candidates():
    rules = [parse_rule("latency_us<=250", "r"), parse_rule("accuracy>=0.88", "r")]
    result = pick(FRONT, FRONT, rules, OBJ)
    assert result.chosen["number"] == 2
    assert "latency_us<=250" in result.why


def test_prefer_takes_the_best_in_one_objective():
    result = pick(FRONT, FRONT, [parse_rule("latency_us<=300", "r")], OBJ, prefer="accuracy@1d")
    assert result.chosen["number"] == 2


def test_ties_in_the_preferred_objective_break_on_the_knee():
    front = table([(0, 0.9, 100.0, True), (1, 0.9, 100.0, True), (2, 0.8, 10.0, True)])
    assert pick(front, front, [], OBJ, prefer="accuracy@1d").chosen["number"] == 0


@pytest.mark.parametrize("prefer,extra,best", [
    ("tcdm_fits", [0, 1, 1, 0], 1),          # metrics: maximise (the knee breaks the tie)
    ("energy_uj", [9.0, 7.0, 3.0, 5.0], 2),  # metrics: minimise
    ("accuracy@1y", [0.6, 0.9, 0.7, 0.8], 1),
])
def test_prefer_a_metric_that_is_no_objective_follows_its_direction_in_metrics(prefer, extra, best):
    front = FRONT.assign(**{prefer: extra})
    result = pick(front, front, [], OBJ, prefer=prefer)
    assert result.chosen["number"] == best
    assert METRICS[prefer.partition("@")[0]].direction in result.why


def test_infeasible_front_trials_are_not_picked():
    front = FRONT.copy()
    front.loc[front["number"] == 1, "feasible"] = False
    assert pick(front, front, [], OBJ).chosen["number"] != 1


def test_unsatisfiable_requirement_lists_the_closest_trials():
    result = pick(FRONT, FRONT, [parse_rule("latency_us<=10", "r")], OBJ)
    assert result.chosen is None
    assert list(result.closest["number"])[0] == 0  # the fastest is closest


def test_the_closest_trials_leave_out_screened_ones_measured_again():
    # trial 0 (the fastest) was screened and measured again by 4, which is slower
    everything = pd.concat([FRONT, table([(4, 0.72, 60.0, True)])], ignore_index=True)
    everything["superseded_by"] = [4, None, None, None, None]
    result = pick(FRONT[FRONT["number"] != 0], everything, [parse_rule("latency_us<=10", "r")],
                  OBJ)
    assert list(result.closest["number"])[0] == 4 and 0 not in set(result.closest["number"])


def test_empty_study():
    empty = table([])
    assert pick(empty, empty, [], OBJ).chosen is None


@pytest.mark.parametrize("text,message", [
    ("speed<=3", "unknown metric 'speed'"),
    ("latency_us", "needs a comparison"),
    ("latency_us<<3", "expected METRIC OP NUMBER"),
    ("latency_us@1d<=3", "unknown metric 'latency_us@1d'"),
])
def test_bad_rules(text, message):
    with pytest.raises(InputError, match=message):
        parse_rule(text, "--require")


def test_rule_violation_sign_follows_optuna():
    assert parse_rule("latency_us<=100", "r").violation(120) == 20
    assert parse_rule("accuracy>=0.8", "r").violation(0.9) == pytest.approx(-0.1)
    assert parse_rule("tcdm_fits", "r").violation(0) == 1
