"""Optuna's heartbeats and a worker's interrupts: stray heartbeat threads, re-queued trials,
one-line output.

Heartbeats mark the trial of a killed worker failed and a retry callback re-queues it with the
same parameters; a Ctrl-C does the same for this worker's own trial (:func:`requeue_interrupted`).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Iterator

from optuna.exceptions import ExperimentalWarning

from codesign.outage import DiskFull, StorageUnavailable

#: how often a failed (killed or interrupted) trial is re-queued with the same parameters
MAX_RETRY = 2


@contextlib.contextmanager
def experimental_ok() -> Iterator[None]:
    """Heartbeats, stale-trial retry and metric names are marked experimental in Optuna; we rely
    on them on purpose and keep their warnings out of the one-line output contract (only here, not
    for the whole process)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ExperimentalWarning)
        yield


def stop_stray_heartbeats() -> int:
    """Stop the trial heartbeat threads still beating in this process; returns how many.

    Optuna starts a trial's heartbeat thread (not a daemon) just before the block whose exit
    stops it; a Ctrl-C in between leaves it beating forever, and the interpreter waits for it at
    exit (seen: a worker that printed "interrupted" and never exited). After an interrupt no trial
    of this process runs, so every such thread is stopped: each is a thread named after Optuna's
    ``_record_heartbeat`` whose arguments end with its stop event."""
    import threading

    stopped = 0
    for thread in threading.enumerate():
        if thread is threading.current_thread() or "_record_heartbeat" not in thread.name:
            continue
        for arg in getattr(thread, "_args", ()):
            if isinstance(arg, threading.Event):
                arg.set()
                stopped += 1
    return stopped


def requeue_interrupted(study, numbers: list[int]) -> list[int]:
    """Re-queue this worker's trial that Ctrl-C stopped (Optuna has marked it FAIL) with the same
    parameters, exactly as the heartbeat re-queues a killed worker's trial."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    done = []
    for trial in study.get_trials(deepcopy=False):
        if trial.number in numbers and trial.state.name == "FAIL":
            RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)(study, trial)
            done.append(trial.number)
    return done


class _DropInterruptTracebacks(logging.Filter):
    """Optuna logs a trial stopped by Ctrl-C with the whole traceback (then "failed with value
    None"); the CLI says it in one line. Drops those records, from the interrupt on; the same
    for a trial stopped by a storage outage or a full disk (run_study says it in one line)."""

    interrupted = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], (KeyboardInterrupt,
                                                               StorageUnavailable, DiskFull)):
            self.interrupted = True
        return not self.interrupted


@contextlib.contextmanager
def quiet_interrupts() -> Iterator[None]:
    import optuna

    handlers = logging.getLogger(optuna.__name__).handlers
    drop = _DropInterruptTracebacks()
    for h in handlers:
        h.addFilter(drop)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(drop)
