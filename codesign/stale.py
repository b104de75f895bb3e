"""Failing the RUNNING trials whose worker is gone, including those that never sent a heartbeat.

Optuna's ``fail_stale_trials`` fails a RUNNING trial whose last heartbeat is older than the grace
period, but skips a trial with *no* heartbeat row at all: a worker killed between creating its
trial (or a ledger claim) and its first beat leaves a trial that stays RUNNING for ever, and the
workers that wait for it (the end of a study, a setting claimed in the training ledger) waited for
ever. Here such a trial is stale once the grace period has passed since its start time
(``datetime_start``, which Optuna's RDB storage keeps in UTC).

Called only while the workers' slot lock is held (:func:`codesign.study.trial_slot_lock`), as
Optuna's own check is.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

def fail_stale(study) -> list[int]:
    """Optuna's stale-trial check, then the trials without any heartbeat; returns the numbers of
    the latter that were failed (each then gets the storage's stale-trial callback: a retry)."""
    from optuna.storages import fail_stale_trials

    fail_stale_trials(study)
    return fail_silent(study)


def is_silent(start_utc: dt.datetime | None, now_utc: dt.datetime, grace_s: float) -> bool:
    """A RUNNING trial with no heartbeat row is stale when its start is over ``grace_s`` ago."""
    return start_utc is not None and (now_utc - start_utc).total_seconds() > grace_s


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))  # SQLite hands a text query its text


def silent_trial_ids(storage, study_id: int) -> list[int]:
    """Ids of the study's RUNNING trials without any heartbeat row whose start is older than the
    storage's grace period. Reads Optuna's schema (``trials``, ``trial_heartbeats``) directly, as
    :func:`codesign.study.count_states_sql` does; [] for a storage without heartbeats."""
    import sqlalchemy

    storage = getattr(storage, "_backend", storage)  # a study's storage: Optuna's cache around it
    interval = getattr(storage, "heartbeat_interval", None)
    engine = getattr(storage, "engine", None)
    if not interval or engine is None:
        return []
    grace = storage.grace_period or 2 * interval

    def query():
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                "SELECT t.trial_id, t.datetime_start FROM trials t WHERE t.study_id = :sid "
                "AND t.state = 'RUNNING' AND NOT EXISTS "
                "(SELECT 1 FROM trial_heartbeats h WHERE h.trial_id = t.trial_id)"),
                {"sid": study_id}).all()

    # a storage of codesign.outage rides out an outage here too
    rows = storage.retrying(query) if hasattr(storage, "retrying") else query()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return [int(tid) for tid, start in rows if is_silent(_as_datetime(start), now, grace)]


def fail_silent(study) -> list[int]:
    """Fail the trials of :func:`silent_trial_ids` as Optuna fails stale ones; their numbers."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = study._storage
    failed = []
    for trial_id in silent_trial_ids(storage, study._study_id):
        try:
            if storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                failed.append(trial_id)
        except UpdateFinishedTrialError:  # another worker failed it first
            pass
    callback = storage.get_heartbeat_stale_trial_callback()
    numbers = []
    for trial_id in failed:
        frozen = copy.deepcopy(storage.get_trial(trial_id))
        if callback is not None:
            callback(study, frozen)
        numbers.append(frozen.number)
    return numbers
