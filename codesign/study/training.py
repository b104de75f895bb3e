"""A design point's accuracy through the study's training ledger: its setting trained at most once
in the study (claimed, pruned, warm-started as the study's ``search`` says), its adapter and
result fetched from the artifact store when another worker made them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from codesign.accuracy import cache
from codesign.evaluators import AccuracyOutcome
from codesign.study.ledger import Ledger
from codesign.study.pruners import Stop, TrialCheckpoints, prune
from codesign.study.record import Training


@dataclass
class _Job:
    """One design point's accuracy setting, as the ledger's training job needs it."""

    ledger: Ledger
    point: Any
    cache_dir: Path
    proxy_at: str
    progress: bool
    screen: bool = True                 # False: a promotion (no screened training answers)
    setting: str = ""
    data: Optional[dict] = None
    result: Any = None

    def __post_init__(self) -> None:
        self.setting = cache.train_key(*self.parts)
        self.data = cache.train_key_data(*self.parts)

    @property
    def parts(self) -> tuple:
        from codesign.evaluators import accuracy_parts

        return accuracy_parts(self.point)

    @property
    def labels(self) -> tuple:
        return tuple(self.point.accuracy.evaluation.drift_times)

    def run(self, plan):
        from codesign.accuracy.engine import evaluate

        workload, aimc, lora, settings = self.parts
        return evaluate(workload, aimc, lora, settings, self.cache_dir, progress=self.progress,
                        plan=plan)

    def fetch(self, adapter_key: str) -> None:
        """The adapter and result of ``adapter_key`` from the store if the local cache lacks them."""
        settings, aimc = self.point.accuracy, self.point.hardware.aimc
        self.ledger.fetch_adapter(self.cache_dir, adapter_key)
        self.ledger.fetch_result(self.cache_dir, cache.result_key(adapter_key, settings, aimc),
                                 self.labels)


def accuracy_outcome(ledger: Ledger, point, cache_dir: Path, proxy_at: str,
                     progress: bool = False, costs: Optional[dict] = None,
                     screen: bool = True) -> AccuracyOutcome:
    """:func:`codesign.evaluators.accuracy_outcome` through the study's training ledger
    (``proxy_at``: the drift time its checkpoints measure; ``screen=False``: a promotion, the
    setting trained in full). The layers the hardware keeps digital stay digital in the
    accuracy model (:func:`codesign.evaluators.with_digital`)."""
    from codesign.evaluators import with_digital

    start = time.perf_counter()
    point = with_digital(point)
    result, training = evaluate(ledger, point, Path(cache_dir), proxy_at, progress=progress,
                                costs=costs, screen=screen)
    return AccuracyOutcome(result, bool(result.cache_hit), time.perf_counter() - start, training)


def evaluate(ledger: Ledger, point, cache_dir: Path, proxy_at: str, progress: bool = False,
             costs: Optional[dict] = None, screen: bool = True):
    """(AccuracyResult, Training) of a design point through the ledger (see the module's
    docstring). ``costs``: the trial's other objectives, each to be minimised (for
    ``pruner: dominated``); ``screen=False``: a promotion."""
    job = _Job(ledger, point, Path(cache_dir), proxy_at, progress, screen)
    assert job.data is not None
    training = ledger.train(job.setting, job.data, lambda trial, record: _train(job, trial, record),
                            costs=costs, screen=screen)
    if training.trained_here:
        if job.result is None:
            raise RuntimeError("the ledger's training job ended without a result")
        return job.result, training
    return _trained_elsewhere(job, training), training


def _train(job: _Job, trial, record: Training) -> float:
    """The ledger's training job, in ledger trial ``trial``: warm-start or walk the checkpoints,
    train, note what it did; prune the trial when its checkpoints said stop."""
    ledger, settings, aimc = job.ledger, job.point.accuracy, job.point.hardware.aimc
    plan, checkpoints = _plan(job, trial, record)
    job.fetch(record.adapter_key)
    result = job.result = job.run(plan)
    record.computed = int(result.extras.get("steps_computed") or 0)
    record.pruned_at = checkpoints.stopped_at if checkpoints is not None else None
    record.to_step = record.pruned_at if record.pruned_at is not None else record.steps
    if record.start is not None:
        record.from_step = 0
    ledger.note(trial, record)
    if checkpoints is not None and checkpoints.stopped_at is not None:
        record.status, record.proxy = "pruned", checkpoints.stopped_value
        prune(Stop(result.reason))
    if not result.ok:
        raise RuntimeError(result.reason or "accuracy failed")
    if ledger.wants("adapter", record.adapter_key):
        ledger.put("adapter", record.adapter_key, cache.adapter_dir(job.cache_dir,
                                                                    record.adapter_key))
    _share_result(ledger, job.cache_dir, result, settings, aimc, record.adapter_key)
    record.proxy = float(result.analog_after[job.proxy_at]["mean"])
    return record.proxy


def _plan(job: _Job, trial, record: Training):
    """(TrainPlan, TrialCheckpoints or None) of a claim: from the nearest trained neighbour
    (a warm start or a screen, new settings only), else through the checkpoints, reported to
    the pruner."""
    from codesign.accuracy.engine import TrainPlan

    ledger, settings, cache_dir = job.ledger, job.point.accuracy, job.cache_dir
    assert job.data is not None
    start, kind = ledger.start_for(job.data, job.screen) if record.from_step == 0 \
        else (None, "scratch")
    if start is not None and ledger.fetch_adapter(cache_dir, start["adapter_key"]):
        search = ledger.search
        record.steps = {"warm": search.warm_steps, "screen": search.screen_steps_of,
                        "promote": search.promote_steps_of}[kind](settings.training.steps)
        record.start, record.screened = start["adapter_key"], kind == "screen"
        if record.screened:
            record.expected_loss = _expected_loss(job.data, start)
        record.adapter_key = cache.warm_key(job.setting, record.start, record.steps, "tail-lr")
        # like the last steps of a full training: the learning rate starts where a full
        # schedule's linear decay would be at that point
        return TrainPlan(start=cache.adapter_dir(cache_dir, record.start), steps=record.steps,
                         adapter_key=record.adapter_key,
                         lr_scale=record.steps / settings.training.steps), None
    record.steps = settings.training.steps
    ledger.fetch_checkpoints(cache_dir, job.setting)
    checkpoints = (TrialCheckpoints(trial, lambda step: ledger.reached(step, trial.number),
                                    ledger.search.min_settings)
                   if ledger.rungs and ledger.search.prunes else None)

    def share_checkpoint(step: int, folder: Path) -> None:
        """Each checkpoint to the store as it is reached (written or found in the local cache):
        a worker on another machine resumes a killed or pruned training from it."""
        if ledger.wants("checkpoint", f"{job.setting}@{step}"):
            ledger.put("checkpoint", f"{job.setting}@{step}", folder)

    return TrainPlan(rungs=ledger.rungs, proxy_at=job.proxy_at, adapter_key=job.setting,
                     checkpoints=checkpoints, on_checkpoint=share_checkpoint), checkpoints


def _expected_loss(key_data: dict, start: dict) -> Optional[float]:
    """What a screen of ``key_data`` from the ledger record ``start`` is expected to lose
    (accuracy points, :func:`codesign.study.warm.screen_loss`); None when not finite."""
    import math

    from codesign.study.warm import roles, screen_loss, warm_axes

    loss = screen_loss({"axes": warm_axes(key_data), "roles": roles(key_data)}, start)
    return round(loss, 4) if math.isfinite(loss) else None


def _trained_elsewhere(job: _Job, training: Training):
    """The result of a setting the ledger found trained: its adapters from the local cache or
    the store (trained again here when neither has them intact), shared once evaluated."""
    from codesign.accuracy.engine import TrainPlan

    ledger, settings, aimc = job.ledger, job.point.accuracy, job.point.hardware.aimc
    plan = TrainPlan(adapter_key=training.adapter_key)
    if not ledger.fetch_adapter(job.cache_dir, training.adapter_key):
        plan = _retrain_plan(ledger, training, settings, job.cache_dir)
    ledger.fetch_result(job.cache_dir, cache.result_key(training.adapter_key, settings, aimc),
                        job.labels)
    result = job.run(plan)
    if result.ok and ledger.wants("adapter", training.adapter_key) and \
            cache.has_adapter(job.cache_dir, training.adapter_key):
        ledger.put("adapter", training.adapter_key, cache.adapter_dir(job.cache_dir,
                                                                      training.adapter_key))
    if result.ok and not result.cache_hit:
        _share_result(ledger, job.cache_dir, result, settings, aimc, training.adapter_key)
    result.cache_hit = True
    return result


def _retrain_plan(ledger: Ledger, training: Training, settings, cache_dir: Path):
    """How to train again, here, a setting the ledger says is trained but whose adapters are
    neither in this worker's cache nor intact in the store (missing, damaged or replaced): the
    same training (from scratch through its checkpoints, or from the same warm start)."""
    from codesign.accuracy.engine import TrainPlan

    if training.start is None:
        ledger.fetch_checkpoints(cache_dir, training.adapter_key)
        return TrainPlan(rungs=ledger.rungs, adapter_key=training.adapter_key)
    if not ledger.fetch_adapter(cache_dir, training.start):
        raise RuntimeError(
            f"the adapters of this setting (ledger trial {training.ledger_trial}) and those it "
            f"warm-started from are neither in this worker's cache ({cache_dir}) nor intact in "
            "the artifact store: give every worker the same search.artifacts (a shared folder "
            "or s3://...)")
    return TrainPlan(start=cache.adapter_dir(cache_dir, training.start), steps=training.steps,
                     adapter_key=training.adapter_key,
                     lr_scale=training.steps / settings.training.steps)


def _share_result(ledger: Ledger, cache_dir: Path, result, settings, aimc, adapter_key: str) -> None:
    key = cache.result_key(adapter_key, settings, aimc)
    path = cache.result_path(cache_dir, key)
    if path.is_file() and ledger.wants("result", key):
        ledger.put("result", key, path)
