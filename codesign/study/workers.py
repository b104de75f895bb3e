"""The worker loop: add trials to a study until it holds ``n_trials``, alongside other workers.

Each worker adds trials until the study holds ``n_trials`` trials that finished or are running;
the workers' lock around "count, then create a trial" (:mod:`codesign.study.locks`) keeps that
count exact across workers. A worker whose target is reached waits while others' trials run
(they may still die and come back for retry) and stops after ``max_failures`` failed trials in
a row.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

from codesign.config import LoadedStudy
from codesign.outage import OUTAGE_S
from codesign.search_space import grid_size
from codesign.storage import check_url, default_url, is_memory, storage_url_of
from codesign.study.counts import full, tally
from codesign.study.heartbeats import (experimental_ok, quiet_interrupts, requeue_interrupted,
                                       stop_stray_heartbeats)
from codesign.study.locks import trial_slot_lock
from codesign.study.objective import make_objective
from codesign.study.opening import artifacts_location, make_ledger, open_study, preflight
from codesign.study.storage import close_storage, make_storage, storage_error


@dataclasses.dataclass
class RunSummary:
    study: Any
    storage: Any
    storage_url: str
    added: int
    total: int
    gave_up: bool = False


@experimental_ok()
def run_study(loaded: LoadedStudy, out_dir: Path, n_trials: int | None = None,
              storage_url: str | None = None, cache_dir: Path | None = None,
              progress: bool = True, max_failures: int = 5, heartbeat_s: int = 10,
              min_trial_s: float = 0.0, outage_s: float = OUTAGE_S) -> RunSummary:
    """Add trials to the study until it holds ``n_trials`` (default: the study file's n_trials)."""
    cfg = loaded.config
    target = _target(loaded, n_trials)  # first: a grid too large to visit is refused at once
    url = storage_url_of(storage_url, cfg.storage, default_url(out_dir, cfg.name))
    preflight(loaded)
    if not is_memory(url):
        check_url(url)
    if loaded.needs_accuracy:  # a bad search.artifacts is refused before any database is created
        from codesign.study.artifacts import artifact_store

        artifact_store(artifacts_location(loaded, out_dir))
    storage = make_storage(url, heartbeat_s=heartbeat_s, grace_s=3 * heartbeat_s,
                           outage_s=outage_s)
    ledger = make_ledger(loaded, url, out_dir, heartbeat_s=heartbeat_s, outage_s=outage_s)
    study = open_study(loaded, storage, _seed(loaded, open_study(loaded, storage, cfg.seed)))
    objective = make_objective(loaded, cache_dir or Path(out_dir) / ".cache" / "accuracy",
                               progress=progress, min_trial_s=min_trial_s, ledger=ledger)
    worker = _Worker(study, storage, storage.get_study_id_from_name(cfg.name), url, cfg.name,
                     target, objective, outage_s, heartbeat_s, _siblings(loaded),
                     promotes=(cfg.search.promote_share, cfg.search.promote_optimism,
                               cfg.search.optimism_by)
                     if loaded.needs_accuracy and (cfg.search.screens or cfg.search.placement_screens)
                     else None)
    try:
        worker.run(max_failures, progress)
    except KeyboardInterrupt:
        stop_stray_heartbeats()
        requeued = requeue_interrupted(study, worker.current[-1:])
        raise KeyboardInterrupt(
            f"trial {requeued[0]} re-queued; run the same command to resume" if requeued
            else "run the same command to resume") from None
    except Exception as exc:  # an outage longer than the storages wait, or a full disk
        error = storage_error(url, (storage, getattr(ledger, "storage", None)), exc)
        if error is None:
            raise
        raise error from None
    finally:
        if ledger is not None:
            close_storage(ledger.storage)
    now = worker.now
    return RunSummary(study, storage, url, worker.added, now["COMPLETE"] + now["PRUNED"],
                      worker.failures_in_a_row >= max_failures)


def _target(loaded: LoadedStudy, n_trials: int | None) -> int:
    cfg = loaded.config
    target = n_trials or cfg.n_trials
    if cfg.sampler == "grid":  # a grid has only so many points: more trials would repeat them
        target = min(target, grid_size(loaded.axes, cfg.design))
    return target


def _seed(loaded: LoadedStudy, probe) -> int:
    """The sampler's seed: reproducible for one worker (seed + trials held); distinct streams
    for workers that join a running study (+ process id); config.study.StudyConfig.seed says
    the same. A grid's order is the study's seed alone: every run and worker visits the same
    sequence of points."""
    cfg = loaded.config
    others_running = any(t.state.name == "RUNNING" for t in probe.get_trials(deepcopy=False))
    return cfg.seed if cfg.sampler == "grid" else (
        cfg.seed + len(probe.trials) + (os.getpid() % 10007 if others_running else 0)) % 2**32


@dataclasses.dataclass
class _Worker:
    """One worker's loop over a study (see the module's docstring)."""

    study: Any
    storage: Any
    study_id: int
    url: str
    name: str
    target: int
    objective: Callable
    outage_s: float
    heartbeat_s: int
    #: (distributions by name, accuracy inputs, limit) of search.siblings; None: off
    siblings: Any = None
    #: search.screen_steps: promote screened trials that reach the front, (search.promote_share,
    #: search.promote_optimism, search.optimism_by); None: no screens
    promotes: Optional[tuple[float, bool, str]] = None
    current: list[int] = dataclasses.field(default_factory=list)  # the trial it is running
    added: int = 0
    failures_in_a_row: int = 0
    now: dict[str, int] = dataclasses.field(default_factory=dict)

    def tally(self) -> dict[str, int]:
        return tally(self.study, self.storage, self.study_id)

    def run(self, max_failures: int, progress: bool) -> None:
        failures = self.tally()["FAIL"]
        bar = _progress(total=self.target, initial=min(self.tally()["counted"], self.target),
                        disable=not progress, desc=self.name)
        try:
            while self.failures_in_a_row < max_failures:
                step = self.one()
                if step == "done":
                    break
                if step == "wait":
                    time.sleep(min(1.0, self.heartbeat_s))  # a COUNT query per second is cheap
                    continue
                self.added += 1
                now = self.now = self.tally()
                self.failures_in_a_row = self.failures_in_a_row + 1 if now["FAIL"] > failures \
                    else 0
                failures = now["FAIL"]
                bar.set_postfix_str(f"complete={now['COMPLETE']} pruned={now['PRUNED']} "
                                    f"failed={now['FAIL']}")
                bar.n = min(now["counted"], self.target)
                bar.refresh()
        finally:
            bar.close()

    def one(self) -> str:
        """Under the workers' lock: "done" (nothing left to start), "wait" (others' trials
        still run) or "ran" (this worker ran a trial)."""
        from optuna.exceptions import UpdateFinishedTrialError

        from codesign.stale import fail_stale

        with trial_slot_lock(self.url, self.name, self.outage_s) as lock:
            # Optuna fails stale trials (a dead worker's: FAIL + a WAITING retry, counted the
            # same) at the start of every trial it runs, still under this lock; check here
            # only before deciding that the study is done (also trials that never beat)
            now = self.now = self.tally()
            if full(self.study, now, self.target) and now["RUNNING"]:
                fail_stale(self.study)
                now = self.now = self.tally()
            if full(self.study, now, self.target):
                return "wait" if now["RUNNING"] else "done"

            def run_one(trial):
                lock.release()  # the trial exists: other workers may count it
                self.current.append(trial.number)
                return self.objective(trial)

            with quiet_interrupts(), contextlib.suppress(UpdateFinishedTrialError):
                # (suppressed: the trial went stale in an outage and another worker failed it
                # and queued its retry; this worker's result is not stored)
                self.study.optimize(run_one, n_trials=1, catch=(Exception,), gc_after_trial=False)
        if self.current and (self.siblings is not None or self.promotes is not None):
            from codesign.study.promotion import queue_promotions
            from codesign.study.siblings import queue_siblings

            with trial_slot_lock(self.url, self.name, self.outage_s):
                # promotions first: the trial's siblings then find its setting trained in full
                if self.promotes is not None:
                    queue_promotions(self.study, *self.promotes)
                if self.siblings is not None:
                    queue_siblings(self.study, self.current[-1], *self.siblings)
        return "ran"


def _siblings(loaded: LoadedStudy):
    """The worker's search.siblings: (distributions by name, accuracy inputs, limit), or None
    (off, a grid, or a study without accuracy, whose points are all cheap)."""
    cfg = loaded.config
    if not cfg.search.siblings or cfg.sampler == "grid" or not loaded.needs_accuracy:
        return None
    from codesign.search_space import param_name, to_distributions
    from codesign.study.siblings import accuracy_inputs

    dists = {param_name(p): d for p, d in to_distributions(loaded.axes, cfg.design).items()}
    return dists, accuracy_inputs(loaded), cfg.search.siblings


def _progress(**kwargs):
    from tqdm.auto import tqdm

    return tqdm(unit="trial", dynamic_ncols=True, **kwargs)
