"""Trials per state: what the workers count before adding a trial, and when a study is full."""

from __future__ import annotations

from codesign.grid_sampler import StableGridSampler
from codesign.study.record import UNCOUNTED, is_counted

STATES = ("COMPLETE", "PRUNED", "RUNNING", "WAITING", "FAIL")


def count_states_sql(storage, study_id: int) -> dict[str, int] | None:
    """Trials per state by one COUNT query on the ``trials`` table of an RDB storage made by
    :func:`codesign.study.make_storage` (its public ``engine``); None where that is not possible.
    Much cheaper than reading every trial, and it runs while the workers' slot lock is held. It
    reads Optuna's schema directly: tests/test_study.py checks it against :func:`count_states`
    on the installed Optuna."""
    import sqlalchemy

    engine = getattr(storage, "engine", None)
    if engine is None:
        return None
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                "SELECT state, COUNT(*) FROM trials WHERE study_id = :sid GROUP BY state"),
                {"sid": study_id}).all()
            siblings = conn.execute(sqlalchemy.text(
                "SELECT t.state, COUNT(*) FROM trials t JOIN trial_user_attributes a "
                "ON a.trial_id = t.trial_id WHERE t.study_id = :sid "
                "AND a.key IN (:sibling, :promotion) GROUP BY t.state"),
                {"sid": study_id, "sibling": UNCOUNTED[0], "promotion": UNCOUNTED[1]}).all()
    except sqlalchemy.exc.SQLAlchemyError:
        return None

    def by_state(pairs) -> dict[str, int]:
        counts = {str(getattr(state, "name", state)).split(".")[-1]: int(n) for state, n in pairs}
        return {s: counts.get(s, 0) for s in STATES}

    out = by_state(rows)
    sib = by_state(siblings)
    out.update({f"uncounted:{s}": sib[s] for s in STATES})
    return out


def count_states(study) -> dict[str, int]:
    """Trials per state through Optuna's public API (reads every trial)."""
    trials = study.get_trials(deepcopy=False)
    states = [t.state.name for t in trials]
    siblings = [t.state.name for t in trials if not is_counted(t)]
    return {**{s: states.count(s) for s in STATES},
            **{f"uncounted:{s}": siblings.count(s) for s in STATES}}


def tally(study, storage, study_id: int) -> dict[str, int]:
    """Trials per state of ``study`` (``study_id`` in ``storage``), from one read of the storage."""
    out = count_states_sql(storage, study_id) or count_states(study)
    # what counts towards n_trials: finished, running, or queued for retry; not the siblings
    # (codesign.study.siblings: points a trial's accuracy measurement already answers) nor the
    # promotions (codesign.study.promotion: screened points measured again), both under the
    # keys "uncounted:STATE"
    out["counted"] = sum(out[s] - out[f"uncounted:{s}"]
                         for s in ("COMPLETE", "PRUNED", "RUNNING", "WAITING"))
    return out


def full(study, now: dict[str, int], target: int) -> bool:
    """Whether no trial is left to start: none queued, and ``target`` trials counted or (grid)
    every point taken. The grid's points are read only when there are enough trials to hold
    them all (failed ones included), so a growing grid study costs no extra read per trial."""
    if now["WAITING"]:
        return False
    if now["counted"] >= target:
        return True
    sampler = study.sampler
    return (isinstance(sampler, StableGridSampler) and sum(now[s] for s in STATES) >= sampler.size
            and not sampler.open_points(study))
