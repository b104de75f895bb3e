"""Promotions (codesign.study.promotion): which screened trials are measured again in full, and
the front without the ones a promotion superseded."""

from __future__ import annotations

import optuna
import pytest

from codesign.study.promotion import front, to_promote, worth_promoting
from codesign.study.record import RunFacts, Training, TrialRecord


def _rec(number, setting="s", screened=True, state="COMPLETE", promotes=None):
    training = Training(setting, f"a{number}", screened=screened) if setting else None
    return TrialRecord(number=number, state=state, values=[0.8, 1.0], promotes=promotes,
                       run=None if training is None else _run(training))


def _run(training):
    from codesign.study.record import RunFacts

    return RunFacts(training=training)


@pytest.mark.parametrize("recs,on_front,expected", [
    # a screened trial on the front is promoted; off the front it is not
    ([_rec(0)], {0}, [0]),
    ([_rec(0)], set(), []),
    # not twice: queued (waiting) or done already; a failed promotion is queued again
    ([_rec(0), _rec(1, promotes=0, screened=False, state="WAITING")], {0}, []),
    ([_rec(0), _rec(1, promotes=0, screened=False)], {0, 1}, []),
    ([_rec(0), _rec(1, promotes=0, screened=False, state="FAIL")], {0}, [0]),
    # a trial measured with a full training, or with none, is never promoted
    ([_rec(0, screened=False)], {0}, []),
    ([_rec(0, setting=None)], {0}, []),
    # the other points of a setting trained in full follow it, on the front or not
    ([_rec(0), _rec(1), _rec(2, promotes=0, screened=False)], {2}, [1]),
    ([_rec(0, "s"), _rec(1, "t"), _rec(2, "s", promotes=0, screened=False)], {2}, []),
    # a screened trial still running or pruned is not promoted
    ([_rec(0, state="RUNNING")], {0}, []),
    ([_rec(0, state="PRUNED")], {0}, []),
])
def test_to_promote(recs, on_front, expected):
    assert to_promote(recs, on_front) == expected


def _study(values, promotes=None, constraints=None):
    study = optuna.create_study(directions=["maximize", "minimize"])
    dist = optuna.distributions.FloatDistribution(0, 1)
    for i, v in enumerate(values):
        attrs = {"promotes": promotes[i]} if promotes and promotes.get(i) is not None else {}
        system = {"constraints": constraints[i]} if constraints else {}
        study.add_trial(optuna.trial.create_trial(params={"x": i / 10}, distributions={"x": dist},
                                                  values=v, user_attrs=attrs,
                                                  system_attrs=system))
    return study


def test_front_is_optunas_best_trials_when_nothing_is_superseded():
    study = _study([[0.8, 2.0], [0.9, 3.0], [0.7, 2.5], [0.9, 3.0], [0.6, 1.0]],
                   constraints=[[0.0], [0.0], [0.0], [0.0], [1.0]])   # the last one infeasible
    assert front(study.get_trials(), study.directions) == {t.number for t in study.best_trials}
    assert front(study.get_trials(), study.directions) == {0, 1, 3}


def test_front_leaves_out_superseded_trials_and_shows_what_they_hid():
    # 0 was screened at 0.9 and dominated 1; its promotion (2) measured 0.7: 1 comes back
    study = _study([[0.9, 1.0], [0.8, 1.5], [0.7, 1.0]], promotes={2: 0})
    assert {t.number for t in study.best_trials} == {0}
    assert front(study.get_trials(), study.directions) == {1, 2}


def test_worth_promoting_keeps_front_trials_that_hold_enough_of_the_hypervolume():
    # (accuracy max, latency min): 0 and 3 nearly coincide, so each adds little alone; 4 is
    # dominated
    study = _study([[0.9, 3.0], [0.8, 1.0], [0.85, 2.0], [0.899, 2.99], [0.7, 3.0]])
    trials, directions = study.get_trials(), study.directions
    assert worth_promoting(trials, directions) == {0, 1, 2, 3}        # the whole front
    assert worth_promoting(trials, directions, 0.01) == {1, 2}
    assert worth_promoting(trials, directions, 0.99) == set()


@pytest.mark.parametrize("points,expected", [
    ([[0, 1], [1, 0], [0.5, 0.5]], [0.05 / 0.46, 0.05 / 0.46, 0.25 / 0.46]),
    # a duplicate shares its row's loss (removing both loses it); a dominated row holds none,
    # and comes back when the row dominating it is removed: (0.5, 0.5) loses only 0.09
    ([[0, 1], [1, 0], [0.5, 0.5], [0.5, 0.5], [0.6, 0.6], [1, 1]],
     [0.05 / 0.46, 0.05 / 0.46, 0.09 / 0.46, 0.09 / 0.46, 0, 0]),
    ([[3.0, 4.0]], [1.0]),
    ([], []),
])
def test_exclusive_shares_by_hand(points, expected):
    """Boxes by hand, reference 1.1 on the 0..1 scale: the front's hypervolume is 0.46."""
    import numpy as np

    from codesign.hypervolume import exclusive_shares

    assert exclusive_shares(np.array(points, dtype=float).reshape(-1, 2)) == pytest.approx(
        expected)


@pytest.mark.parametrize("columns,expected", [
    ({}, None),
    ({"sibling_of": [None, 0, 0], "promotes": [None, None, None]},
     "siblings 2, promotions 0 (not counted towards n_trials)"),
    ({"sibling_of": [None, None, None], "promotes": [None, None, 0],
      "screened": [True, True, False], "superseded_by": [2, None, None]},
     "siblings 0, promotions 1 (not counted towards n_trials); screened 2, superseded 1"),
])
def test_the_run_summary_says_what_the_sampler_did_not_propose(columns, expected):
    import pandas as pd

    from codesign.table import extra_trials_text

    table = pd.DataFrame({"number": [0, 1, 2], "state": ["COMPLETE"] * 3, **columns})
    assert extra_trials_text(table) == expected


def _pair_rec(number, values, promotes=None):
    return TrialRecord(number=number, state="COMPLETE", values=values, promotes=promotes)


@pytest.mark.parametrize("recs,expected", [
    ([_pair_rec(0, [0.80, 2.0])], [0.0, 0.0]),                          # no promotion yet
    # (accuracy max, latency min): the full training is 0.05 better, latency the same
    ([_pair_rec(0, [0.80, 2.0]), _pair_rec(1, [0.85, 2.0], promotes=0)], [0.05, 0.0]),
    # the median over pairs; a screen that measured better counts as a negative loss
    ([_pair_rec(0, [0.80, 2.0]), _pair_rec(1, [0.85, 2.0], promotes=0),
      _pair_rec(2, [0.70, 1.0]), _pair_rec(3, [0.72, 1.0], promotes=2),
      _pair_rec(4, [0.90, 1.0]), _pair_rec(5, [0.89, 1.0], promotes=4)], [0.02, 0.0]),
])
def test_screen_loss_is_the_median_improvement_of_promotions(recs, expected):
    from codesign.study.promotion import screen_loss

    assert screen_loss(recs, [False, True]) == pytest.approx(expected)


def test_optimism_judges_a_screened_trial_at_what_its_promotions_gained():
    # 1 is trained in full; 0 is screened and just dominated by it; 2 was screened and its
    # promotion 3 gained 0.05: judged at 0.87, 0 is on the front
    screened = {"run": {"training": {"setting": "s", "adapter_key": "a", "screened": True}}}
    study = optuna.create_study(directions=["maximize", "minimize"])
    dist = optuna.distributions.FloatDistribution(0, 1)
    for i, (values, attrs) in enumerate([([0.82, 1.6], screened), ([0.85, 1.5], {}),
                                         ([0.70, 3.0], screened),
                                         ([0.75, 3.0], {"promotes": 2})]):
        study.add_trial(optuna.trial.create_trial(params={"x": i / 10}, distributions={"x": dist},
                                                  values=values, user_attrs=attrs))
    trials, directions = study.get_trials(), study.directions
    assert worth_promoting(trials, directions) == {1}
    assert worth_promoting(trials, directions, optimism=True) == {0, 1}


def _screened(number, values, expected_loss=None, promotes=None):
    training = Training("s", "a", screened=True, expected_loss=expected_loss)
    return TrialRecord(number=number, state="COMPLETE", values=values, promotes=promotes,
                       run=RunFacts(training=training))


#: (accuracy max, latency min); screen 0 expected to lose 0.5 points lost 0.01 (promotion 1):
#: the study's scale is 0.02 per expected point, latency 0
PAIR = [_screened(0, [0.80, 2.0], 0.5), _pair_rec(1, [0.81, 2.0], promotes=0)]


@pytest.mark.parametrize("recs,by,expected", [
    # 'study': the study's median screen loss for every screen
    (PAIR + [_screened(2, [0.7, 1.0], 2.0)], "study", {0: [0.01, 0], 2: [0.01, 0]}),
    # 'change': the screen's expected loss times the study's scale
    (PAIR + [_screened(2, [0.7, 1.0], 2.0)], "change", {0: [0.01, 0], 2: [0.04, 0]}),
    # a screen recorded without an expected loss (an older study): the study's median
    (PAIR + [_screened(2, [0.7, 1.0])], "change", {0: [0.01, 0], 2: [0.01, 0]}),
    # no promotion measured yet: 0, as 'study'
    ([_screened(0, [0.80, 2.0], 0.5), _screened(2, [0.7, 1.0], 2.0)], "change",
     {0: [0, 0], 2: [0, 0]}),
    # the scale is the median ratio over promotions: 0.02 and 0.06 per point -> 0.04
    (PAIR + [_screened(2, [0.7, 1.0], 1.0), _pair_rec(3, [0.76, 1.0], promotes=2),
             _screened(4, [0.6, 1.0], 0.25)], "change",
     {0: [0.02, 0], 2: [0.04, 0], 4: [0.01, 0]}),
])
def test_screen_losses_by_what_each_screen_changed(recs, by, expected):
    from codesign.study.promotion import screen_losses

    got = screen_losses(recs, [False, True], by)
    assert got.keys() == expected.keys()
    for number, loss in expected.items():
        assert got[number] == pytest.approx(loss), number


def test_optimism_by_change_lifts_a_screen_that_changed_more():
    """Screens 0 (expected to lose 0.5 points) and 2 (2 points) each sit just below a trial
    trained in full (1, 3); promotion 5 of screen 4 (0.5 points expected) gained 0.01: by
    'study' both are judged 0.01 higher and stay dominated, by 'change' screen 2 is judged 0.04
    higher and reaches the front."""
    def screened(expected):
        return {"run": {"training": {"setting": "s", "adapter_key": "a", "screened": True,
                                     "expected_loss": expected}}}

    study = optuna.create_study(directions=["maximize", "minimize"])
    dist = optuna.distributions.FloatDistribution(0, 1)
    for i, (values, attrs) in enumerate([([0.80, 1.6], screened(0.5)), ([0.82, 1.5], {}),
                                         ([0.88, 2.6], screened(2.0)), ([0.90, 2.5], {}),
                                         ([0.60, 3.0], screened(0.5)),
                                         ([0.61, 3.0], {"promotes": 4})]):
        study.add_trial(optuna.trial.create_trial(params={"x": i / 10}, distributions={"x": dist},
                                                  values=values, user_attrs=attrs))
    trials, directions = study.get_trials(), study.directions
    assert worth_promoting(trials, directions, optimism=True) == {1, 3}
    assert worth_promoting(trials, directions, optimism=True, by="change") == {1, 2, 3}
