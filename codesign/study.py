"""Running a study: storage, sampler, the per-trial objective, and workers sharing one storage.

``run_study`` creates or resumes an Optuna study in an RDB storage (SQLite file by default,
PostgreSQL for many workers on many machines). Each worker adds trials until the study holds
``n_trials`` trials that finished or are running; a lock around "count, then create a trial" keeps
that count exact across workers. Heartbeats mark the trial of a killed worker failed, and a retry
callback re-queues it with the same parameters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import logging
import os
import re
import socket
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

from optuna.exceptions import ExperimentalWarning

from codesign.config import LoadedStudy, direction, objective_key
from codesign.errors import INPUT_ERRORS, InputError
from codesign.grid_sampler import StableGridSampler
from codesign.outage import (OUTAGE_S, DiskFull, StorageUnavailable, disk_full_message,
                             is_disk_full, no_space_left, retry)
from codesign.metrics import METRICS
from codesign.search_space import apply_params, grid, grid_size, param_name, to_distributions
from codesign.storage import (check_url, is_memory, is_sqlite, memory_storage, readonly_url, redact,
                              sqlite_path)

#: how often a failed (killed or interrupted) trial is re-queued with the same parameters
MAX_RETRY = 2



@contextlib.contextmanager
def _experimental_ok() -> Iterator[None]:
    """Heartbeats, stale-trial retry and metric names are marked experimental in Optuna; we rely
    on them on purpose and keep their warnings out of the one-line output contract (only here, not
    for the whole process)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ExperimentalWarning)
        yield


def worker_id() -> str:
    """Who runs a trial: host and process id, recorded with every trial."""
    return f"{socket.gethostname()}:{os.getpid()}"


def default_storage(out_dir: Path, name: str) -> str:
    return f"sqlite:///{(Path(out_dir) / name / 'study.db').resolve()}"


@_experimental_ok()
def make_storage(url: str, heartbeat_s: int = 10, grace_s: int = 30, max_retry: int = MAX_RETRY,
                 readonly: bool = False, retry: bool = True, outage_s: float = OUTAGE_S):
    """Optuna RDB storage with heartbeats and failed-trial retry; InputError if unreachable.

    ``readonly``: for commands that only read a study: SQLite opens the file read-only (nothing
    created, converted or written), PostgreSQL runs read-only transactions, no heartbeat runs.
    ``retry=False``: a stale trial is only marked failed (the training ledger's claims: the
    setting is claimed again by whoever needs it). Every call rides out a database outage of up
    to ``outage_s`` seconds (:mod:`codesign.outage`). A :func:`codesign.storage.memory_url`: that
    in-memory storage (Python calls only; no heartbeat)."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    from codesign.outage import RetryingRDBStorage

    if is_memory(url):
        return memory_storage(url)
    check_url(url, must_exist=readonly)
    if is_sqlite(url) and not readonly:
        _prepare_sqlite(sqlite_path(url))
    live: dict[str, Any] = {} if readonly else {
        "heartbeat_interval": heartbeat_s, "grace_period": grace_s,
        "heartbeat_stale_trial_callback": (RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
                                           if retry else None)}
    for attempt in range(5):
        try:
            storage = RetryingRDBStorage(
                readonly_url(url) if readonly else url,
                engine_kwargs={"pool_pre_ping": True,
                               **({"connect_args": _pg_connect_args(readonly)}
                                  if url.startswith("postgresql") else {})},
                **live)
            if is_sqlite(url) and not readonly:
                _relax_sqlite_sync(storage.engine)
            storage.where, storage.outage_s = f"--storage: {redact(url)}", outage_s
            return storage
        except ModuleNotFoundError as exc:
            raise InputError(f"--storage: the driver for {redact(url)} is not installed "
                             f"({exc.name}); for PostgreSQL: pip install 'psycopg[binary]'") from None
        except Exception as exc:  # sqlalchemy.exc.OperationalError and friends
            lines = str(getattr(exc, "orig", exc)).strip().splitlines()
            reason = redact(lines[0] if lines else type(exc).__name__, url)
            if _SCHEMA_RACE.search(reason) and attempt < 4:
                time.sleep(0.5 + attempt)  # another worker is creating the schema right now
                continue
            if is_disk_full(exc) or (is_sqlite(url) and no_space_left(sqlite_path(url).parent)):
                raise DiskFull(disk_full_message("--storage", sqlite_path(url) if is_sqlite(url)
                                                 else redact(url))) from None
            if "password" in reason.lower():
                reason = "authentication failed"
            if readonly and "readonly" in reason.replace("-", "").replace(" ", "").lower():
                reason = "it holds no codesign study (reading never adds Optuna's tables)"
            raise InputError(f"--storage: cannot open {redact(url)}: {reason}") from None
    raise AssertionError("unreachable")


def _pg_connect_args(readonly: bool) -> dict[str, Any]:
    """PostgreSQL: a connect timeout; for readers, read-only transactions (the server refuses any
    write, so reading a database that holds no study cannot add Optuna's tables to it)."""
    return {"connect_timeout": 10,
            **({"options": "-c default_transaction_read_only=on"} if readonly else {})}


def _prepare_sqlite(path: Path) -> None:
    """Create the folder and switch the database to write-ahead logging (persistent in the file):
    readers no longer block the writer, which several local workers need."""
    import sqlite3

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()
    except (OSError, sqlite3.Error) as exc:  # a read-only file or file system, a full disk...
        if is_disk_full(exc) or no_space_left(path.parent):
            raise DiskFull(disk_full_message("--storage", path)) from None
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"--storage: cannot write {path}: {reason} (a study that is only read "
                         f"needs no write access: codesign pareto/pick/plot/report)") from None


def _relax_sqlite_sync(engine) -> None:
    """synchronous=NORMAL on every connection: in WAL mode a commit survives any process crash (a
    killed worker loses nothing) and is only at risk on power loss; it saves an fsync per write,
    which is most of a latency-only trial's time."""
    import sqlalchemy

    def on_connect(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    sqlalchemy.event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections opened before the listener are replaced


_SCHEMA_RACE = re.compile(r"already exists|duplicate key|UniqueViolation|UNIQUE constraint failed|"
                          r"database is locked", re.I)


def make_sampler(loaded: LoadedStudy, seed: int):
    import optuna

    cfg = loaded.config
    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=cfg.population_size, seed=seed)
    if cfg.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if cfg.sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # a grid's points keep their meaning across runs and workers: codesign.grid_sampler
    return StableGridSampler({param_name(p): v for p, v in grid(loaded.axes, cfg.design).items()},
                             seed=seed)


def fingerprint(loaded: LoadedStudy) -> dict[str, Any]:
    """What must not change between runs of one study: objectives and search space."""
    return {
        "objectives": [f"{objective_key(o)}:{direction(o)}" for o in loaded.config.objectives],
        "axes": sorted(param_name(p) for p in loaded.axes),
    }


@_experimental_ok()
def open_study(loaded: LoadedStudy, storage, seed: int):
    """Create the study or load the one of the same name, refusing an incompatible redefinition."""
    import optuna

    cfg = loaded.config
    study = optuna.create_study(
        study_name=cfg.name, storage=storage, load_if_exists=True,
        directions=[direction(o) for o in cfg.objectives],
        sampler=make_sampler(loaded, seed),
    )
    mine = fingerprint(loaded)
    stored = study.user_attrs.get("codesign.fingerprint")
    if stored is None:
        study.set_user_attr("codesign.fingerprint", mine)
        study.set_metric_names([objective_key(o) for o in cfg.objectives])
    elif stored != mine:
        raise InputError(
            f"name: study {cfg.name!r} already exists in this storage with objectives "
            f"{stored['objectives']} and axes {stored['axes']}; this file asks for "
            f"{mine['objectives']} and {mine['axes']}: rename the study or use another --storage")
    return study


def suggest(trial, name: str, dist) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def accuracy_target(loaded: LoadedStudy) -> tuple[str, str]:
    """(direction, drift time) of what adapter training improves: the study's first accuracy
    objective (its horizon; 'mean' / 'worst': the longest evaluated drift time), else maximise
    at the first drift time. The training ledger's pruner compares checkpoints by it."""
    from codesign.metrics import parse_at

    times = list(loaded.config.accuracy.evaluation.drift_times)
    for o in loaded.config.objectives:
        if METRICS[o.name].needs_accuracy:
            horizon, _ = parse_at(o.at, "at")
            return direction(o), (times[-1] if horizon in ("mean", "worst") else horizon)
    return "maximize", times[0]


def make_ledger(loaded: LoadedStudy, storage_url: str, out_dir: Path, heartbeat_s: int = 10,
                outage_s: float = OUTAGE_S):
    """The study's training ledger (:mod:`codesign.ledger`), or None without accuracy."""
    if not loaded.needs_accuracy:
        return None
    from codesign.ledger import Ledger

    cfg = loaded.config
    storage = make_storage(storage_url, heartbeat_s=heartbeat_s, grace_s=3 * heartbeat_s,
                           retry=False, outage_s=outage_s)
    return Ledger(storage, lambda name: trial_slot_lock(storage_url, name, outage_s), cfg.name,
                  accuracy_target(loaded)[0], cfg.search, artifacts_location(loaded, out_dir),
                  cfg.accuracy.training.steps)


def artifacts_location(loaded: LoadedStudy, out_dir: Path) -> str:
    """``search.artifacts``, or <out>/<name>/artifacts beside the study."""
    cfg = loaded.config
    return cfg.search.artifacts or str(Path(out_dir) / cfg.name / "artifacts")


def make_objective(loaded: LoadedStudy, cache_dir: Path, progress: bool = False,
                   min_trial_s: float = 0.0, ledger=None) -> Callable:
    """The function Optuna calls per trial: suggest, evaluate hardware, then accuracy if needed
    (through the study's training ledger when one is given: :func:`make_ledger`)."""
    import optuna

    from codesign import evaluators

    cfg = loaded.config
    dists = to_distributions(loaded.axes, cfg.design)
    hw_rules = [r for r in loaded.rules if not METRICS[r.base].needs_accuracy]
    wanted = [objective_key(o) for o in cfg.objectives] + [r.metric for r in loaded.rules]
    proxy_at = accuracy_target(loaded)[1]

    def objective(trial: optuna.Trial):
        try:
            return evaluate(trial)
        except (optuna.TrialPruned, StorageUnavailable, DiskFull):
            raise  # (the storage cannot take a reason now: run_study reports it in one line)
        except Exception as exc:  # recorded with the trial, which Optuna then marks failed
            if "reason" not in trial.user_attrs:
                trial.set_user_attr("reason", f"{type(exc).__name__}: {exc}")
            raise

    def evaluate(trial: optuna.Trial):
        start = time.perf_counter()
        params = {path: suggest(trial, param_name(path), d) for path, d in dists.items()}
        point = apply_params(cfg.design, params)  # SpecError -> the trial fails with its reason
        metrics = evaluators.hardware_metrics(point)
        violations = {str(r): r.violation(metrics[r.metric]) for r in hw_rules}
        outcome = None
        if loaded.needs_accuracy:
            if cfg.skip_accuracy_if_infeasible and any(v > 0 for v in violations.values()):
                _record(trial, metrics, violations, start, skipped=True)
                broken = ", ".join(k for k, v in violations.items() if v > 0)
                trial.set_user_attr("reason", f"accuracy skipped: infeasible ({broken})")
                raise optuna.TrialPruned(f"infeasible before accuracy: {broken}")
            costs = {objective_key(o): metrics[o.name] * (1 if direction(o) == "minimize" else -1)
                     for o in cfg.objectives if not METRICS[o.name].needs_accuracy}
            outcome = evaluators.accuracy_outcome(point, cache_dir, progress=progress,
                                                  ledger=ledger, proxy_at=proxy_at, costs=costs)
            result = outcome.result
            if outcome.pruned:
                _record_pruned(trial, metrics, violations, start, outcome, cfg, proxy_at)
                raise optuna.TrialPruned(result.reason)
            if not outcome.ok:
                trial.set_user_attr("reason", result.reason or "accuracy failed")
                raise RuntimeError(result.reason or "accuracy failed")
            after, before = evaluators.series_with_draws(result.to_dict())
            metrics.update(evaluators.accuracy_metrics(after, before, wanted))
            for r in loaded.rules:
                if METRICS[r.base].needs_accuracy:
                    violations[str(r)] = r.violation(metrics[r.metric])
            trial.set_user_attr("drift", {"digital": result.digital,
                                          "analog_before": before, "analog_after": after})
            trial.set_user_attr("accuracy_metric", result.metric)
        _record(trial, metrics, violations, start, outcome=outcome)
        time.sleep(max(0.0, min_trial_s - (time.perf_counter() - start)))
        return tuple(metrics[objective_key(o)] for o in cfg.objectives)

    return objective


def _record(trial, metrics, violations, start, skipped=False, outcome=None) -> None:
    """Store a trial's figures in three writes: metrics, constraints, and how it ran."""
    trial.set_user_attr("metrics", metrics)
    for name, value in violations.items():
        trial.set_constraint(name, value)
    trial.set_user_attr("constraints", violations)
    training = getattr(outcome, "training", None)
    trial.set_user_attr("run", {
        "worker": worker_id(),
        "eval_s": round(time.perf_counter() - start, 4),
        "accuracy_cache_hit": None if outcome is None else outcome.cache_hit,
        "accuracy_skipped": skipped,
        **({"training": training.record()} if training is not None else {}),
    })


def _record_pruned(trial, metrics, violations, start, outcome, cfg, proxy_at: str) -> None:
    """A setting the ledger's pruner stopped: the hardware figures, the accuracy it had at its
    last checkpoint (``partial``: what the figures plot for it), the step, the reason."""
    training = outcome.training
    partial = {objective_key(o): training.proxy for o in cfg.objectives
               if METRICS[o.name].needs_accuracy}
    trial.set_user_attr("partial", partial)
    trial.set_user_attr("reason", outcome.result.reason or f"pruned at step {training.pruned_at}")
    _record(trial, metrics, violations, start, outcome=outcome)


class _SlotLock:
    """A held lock that can be released early (once the new trial exists) and again safely."""

    def __init__(self, release: Callable[[], object]):
        self._release: Callable[[], object] | None = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


@contextlib.contextmanager
def trial_slot_lock(storage_url: str, study_name: str,
                    outage_s: float = OUTAGE_S) -> Iterator[_SlotLock]:
    """Serialise "count trials, then create one" among the workers of one study.

    A file lock beside a SQLite database; a PostgreSQL advisory lock for a shared server. Other
    backends get no lock (the trial count may then overshoot by one per extra worker).
    The lock is released when the block ends, or earlier by ``lock.release()``.
    """
    if storage_url.startswith("sqlite:///"):
        lock_path = Path(f"{sqlite_path(storage_url)}.{study_name}.lock")
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            lock = _SlotLock(lambda: fcntl.flock(fh, fcntl.LOCK_UN))
            try:
                yield lock
            finally:
                lock.release()
    elif storage_url.startswith("postgresql"):
        import sqlalchemy

        key = int(hashlib.sha256(study_name.encode()).hexdigest()[:15], 16)
        engine = sqlalchemy.create_engine(storage_url, poolclass=sqlalchemy.pool.NullPool,
                                          connect_args={"connect_timeout": 10})

        def locked():
            conn = engine.connect()
            try:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except BaseException:
                conn.close()
                raise
            return conn

        def unlock(conn) -> None:
            # a connection the server dropped has released its lock already
            with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})

        try:
            conn = retry(locked, f"--storage: {redact(storage_url)}", outage_s)  # an outage
            try:
                lock = _SlotLock(lambda: unlock(conn))
                try:
                    yield lock
                finally:
                    lock.release()
            finally:
                with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
                    conn.close()
        finally:
            engine.dispose()
    else:
        yield _SlotLock(lambda: None)


_STATES = ("COMPLETE", "PRUNED", "RUNNING", "WAITING", "FAIL")


def count_states_sql(storage, study_id: int) -> dict[str, int] | None:
    """Trials per state by one COUNT query on the ``trials`` table of an RDB storage made by
    :func:`make_storage` (its public ``engine``); None where that is not possible. Much cheaper than
    reading every trial, and it runs while the workers' slot lock is held. It reads Optuna's
    schema directly: tests/test_study.py checks it against :func:`count_states` on the installed
    Optuna."""
    import sqlalchemy

    engine = getattr(storage, "engine", None)
    if engine is None:
        return None
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                "SELECT state, COUNT(*) FROM trials WHERE study_id = :sid GROUP BY state"),
                {"sid": study_id}).all()
    except sqlalchemy.exc.SQLAlchemyError:
        return None
    counts = {str(getattr(state, "name", state)).split(".")[-1]: int(n) for state, n in rows}
    return {s: counts.get(s, 0) for s in _STATES}


def count_states(study) -> dict[str, int]:
    """Trials per state through Optuna's public API (reads every trial)."""
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    return {s: states.count(s) for s in _STATES}


def close_storage(storage) -> None:
    """Close the pooled connections of a storage made by :func:`make_storage` (SQLite then folds
    its write-ahead log into the database file, so the file alone is the complete study)."""
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


def tally(study, storage, study_id: int) -> dict[str, int]:
    """Trials per state of ``study`` (``study_id`` in ``storage``), from one read of the storage."""
    out = count_states_sql(storage, study_id) or count_states(study)
    # what counts towards n_trials: finished, running, or queued for retry
    out["counted"] = out["COMPLETE"] + out["PRUNED"] + out["RUNNING"] + out["WAITING"]
    return out


def preflight(loaded: LoadedStudy) -> None:
    """Refuse, before any trial, a network that does not exist and axis values that are invalid on
    their own with the fixed design (e.g. tokens above seq_len): InputError naming the value."""
    from codesign import evaluators

    cfg = loaded.config
    evaluators.network(cfg.workload.network)
    evaluators.hardware_metrics(cfg.design)
    for path, axis in loaded.axes.items():
        values = axis.choices if axis.choices is not None else [axis.low, axis.high]
        for i, value in enumerate(values):
            where = (f"search_space.{param_name(path)}.choices[{i}]" if axis.choices is not None
                     else f"search_space.{param_name(path)}.{('low', 'high')[i]}")
            try:
                evaluators.hardware_metrics(apply_params(cfg.design, {path: value}))
            except INPUT_ERRORS as exc:
                raise InputError(f"{where}: {exc}") from None


@dataclasses.dataclass
class RunSummary:
    study: Any
    storage: Any
    storage_url: str
    added: int
    total: int
    gave_up: bool = False


@_experimental_ok()
def run_study(loaded: LoadedStudy, out_dir: Path, n_trials: int | None = None,
              storage_url: str | None = None, cache_dir: Path | None = None,
              progress: bool = True, max_failures: int = 5, heartbeat_s: int = 10,
              min_trial_s: float = 0.0, outage_s: float = OUTAGE_S) -> RunSummary:
    """Add trials to the study until it holds ``n_trials`` (default: the study file's n_trials)."""
    from optuna.exceptions import UpdateFinishedTrialError

    from codesign.stale import fail_stale

    cfg = loaded.config
    target = n_trials or cfg.n_trials
    if cfg.sampler == "grid":  # a grid has only so many points: more trials would repeat them
        target = min(target, grid_size(loaded.axes, cfg.design))
    url = (storage_url if storage_url is not None else cfg.storage if cfg.storage is not None
           else default_storage(out_dir, cfg.name))
    preflight(loaded)
    if not is_memory(url):
        check_url(url)
    if loaded.needs_accuracy:  # a bad search.artifacts is refused before any database is created
        from codesign.ledger import artifact_store

        artifact_store(artifacts_location(loaded, out_dir))
    storage = make_storage(url, heartbeat_s=heartbeat_s, grace_s=3 * heartbeat_s,
                           outage_s=outage_s)
    ledger = make_ledger(loaded, url, out_dir, heartbeat_s=heartbeat_s, outage_s=outage_s)
    probe = open_study(loaded, storage, cfg.seed)
    # reproducible for one worker (seed + trials held); distinct streams for workers that join a
    # running study (+ process id); config.study.StudyConfig.seed says the same. A grid's order
    # is the study's seed alone: every run and worker visits the same sequence of points
    others_running = any(t.state.name == "RUNNING" for t in probe.get_trials(deepcopy=False))
    seed = cfg.seed if cfg.sampler == "grid" else (
        cfg.seed + len(probe.trials) + (os.getpid() % 10007 if others_running else 0)) % 2**32
    study = open_study(loaded, storage, seed)
    objective = make_objective(loaded, cache_dir or Path(out_dir) / ".cache" / "accuracy",
                               progress=progress, min_trial_s=min_trial_s, ledger=ledger)
    study_id = storage.get_study_id_from_name(cfg.name)
    failures = tally(study, storage, study_id)["FAIL"]

    bar = _progress(total=target, initial=min(tally(study, storage, study_id)["counted"], target),
                    disable=not progress, desc=cfg.name)
    added = failures_in_a_row = 0
    current: list[int] = []  # the number of the trial this worker is running
    try:
        while failures_in_a_row < max_failures:
            with trial_slot_lock(url, cfg.name, outage_s) as lock:
                # Optuna fails stale trials (a dead worker's: FAIL + a WAITING retry, counted the
                # same) at the start of every trial it runs, still under this lock; check here
                # only before deciding that the study is done (also trials that never beat)
                now = tally(study, storage, study_id)
                if _full(study, now, target) and now["RUNNING"]:
                    fail_stale(study)
                    now = tally(study, storage, study_id)
                if _full(study, now, target):
                    if not now["RUNNING"]:
                        break
                    wait = True  # others' trials may still die and come back for retry
                else:
                    wait = False
                    def run_one(trial, lock=lock):
                        lock.release()  # the trial exists: other workers may count it
                        current.append(trial.number)
                        return objective(trial)

                    with _quiet_interrupts(), contextlib.suppress(UpdateFinishedTrialError):
                        # (suppressed: the trial went stale in an outage and another worker
                        # failed it and queued its retry; this worker's result is not stored)
                        study.optimize(run_one, n_trials=1, catch=(Exception,),
                                       gc_after_trial=False)
            if wait:
                time.sleep(min(1.0, heartbeat_s))  # a COUNT query per second is cheap
                continue
            added += 1
            now = tally(study, storage, study_id)
            failures_in_a_row = failures_in_a_row + 1 if now["FAIL"] > failures else 0
            failures = now["FAIL"]
            bar.set_postfix_str(f"complete={now['COMPLETE']} pruned={now['PRUNED']} "
                                f"failed={now['FAIL']}")
            bar.n = min(now["counted"], target)
            bar.refresh()
    except KeyboardInterrupt:
        stop_stray_heartbeats()
        requeued = requeue_interrupted(study, current[-1:])
        raise KeyboardInterrupt(
            f"trial {requeued[0]} re-queued; run the same command to resume" if requeued
            else "run the same command to resume") from None
    except Exception as exc:  # an outage longer than the storages wait, or a full disk
        for store in (storage, getattr(ledger, "storage", None)):
            gave_up = getattr(store, "gave_up", None)
            if gave_up is not None:
                raise StorageUnavailable(str(gave_up)) from None
        if isinstance(exc, (StorageUnavailable, DiskFull)):
            raise exc from None
        if is_disk_full(exc) or (is_sqlite(url) and no_space_left(sqlite_path(url).parent)):
            raise DiskFull(disk_full_message("--storage", sqlite_path(url) if is_sqlite(url)
                                             else redact(url))) from None
        raise
    finally:
        bar.close()
        if ledger is not None:
            close_storage(ledger.storage)
    return RunSummary(study, storage, url, added, now["COMPLETE"] + now["PRUNED"],
                      failures_in_a_row >= max_failures)


def _full(study, now: dict[str, int], target: int) -> bool:
    """Whether no trial is left to start: none queued, and ``target`` trials counted or (grid)
    every point taken. The grid's points are read only when there are enough trials to hold
    them all (failed ones included), so a growing grid study costs no extra read per trial."""
    if now["WAITING"]:
        return False
    if now["counted"] >= target:
        return True
    sampler = study.sampler
    return (isinstance(sampler, StableGridSampler) and sum(now[s] for s in _STATES) >= sampler.size
            and not sampler.open_points(study))


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
def _quiet_interrupts() -> Iterator[None]:
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


def _progress(**kwargs):
    from tqdm.auto import tqdm

    return tqdm(unit="trial", dynamic_ncols=True, **kwargs)
