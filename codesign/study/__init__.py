"""Running a study: storage, sampler, the per-trial objective, and workers sharing one storage.

``run_study`` creates or resumes an Optuna study in an RDB storage (SQLite file by default,
PostgreSQL for many workers on many machines). Each worker adds trials until the study holds
``n_trials`` trials that finished or are running; a lock around "count, then create a trial" keeps
that count exact across workers. Heartbeats mark the trial of a killed worker failed, and a retry
callback re-queues it with the same parameters.

This package's parts, each named for what it holds:

- :mod:`~codesign.study.storage`: opening and closing the Optuna storage;
  :mod:`~codesign.study.locks`: the workers' lock; :mod:`~codesign.study.counts`: trials per state;
- :mod:`~codesign.study.workers`: the worker loop (:func:`run_study`);
  :mod:`~codesign.study.heartbeats`: Optuna's heartbeat threads and interrupts;
- :mod:`~codesign.study.opening`: sampler, fingerprint, checks before any trial;
- :mod:`~codesign.study.objective`: the per-trial objective; :mod:`~codesign.study.record`: the
  one typed record of a trial, written once and read by every reader;
- :mod:`~codesign.study.ledger`: the training ledger (each accuracy setting trained once), with
  :mod:`~codesign.study.training` (a point's accuracy through it),
  :mod:`~codesign.study.artifacts`, :mod:`~codesign.study.warm` and
  :mod:`~codesign.study.pruners` (the one pruning protocol);
- :mod:`~codesign.study.siblings`: the points a trial's accuracy measurement already answers
  (its other tokens, TCDM...), measured right after it without training;
  :mod:`~codesign.study.promotion`: screened points that reach the front, measured again with
  their setting trained in full.
"""

from codesign.storage import redact
from codesign.study.counts import count_states, count_states_sql, tally
from codesign.study.heartbeats import MAX_RETRY, requeue_interrupted, stop_stray_heartbeats
from codesign.study.locks import trial_slot_lock
from codesign.study.objective import make_objective, worker_id
from codesign.study.opening import (accuracy_target, artifacts_location, fingerprint, make_ledger,
                                    make_sampler, open_study, preflight)
from codesign.study.storage import close_storage, make_storage
from codesign.study.workers import RunSummary, run_study

__all__ = ["MAX_RETRY", "RunSummary", "accuracy_target", "artifacts_location", "close_storage",
           "count_states", "count_states_sql", "fingerprint", "make_ledger",
           "make_objective", "make_sampler", "make_storage", "open_study", "preflight",
           "redact", "requeue_interrupted", "run_study", "stop_stray_heartbeats", "tally",
           "trial_slot_lock", "worker_id"]
