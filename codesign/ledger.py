"""The training ledger: each accuracy setting of a study trained once, across workers and machines.

Beside a study ``NAME`` its storage holds a single-objective Optuna study ``NAME:trainings``. Each
of its trials is one training of one accuracy *setting* (the train key of
:mod:`codesign.accuracy.cache`: everything that changes the adapters):

- **Claims.** Under the workers' lock (a file lock for SQLite, a PostgreSQL advisory lock), a
  worker that needs a setting looks it up: trained (COMPLETE) -> it uses the adapters; being
  trained by a live worker (RUNNING, heartbeat) -> it waits; otherwise it creates the trial (its
  claim) and trains. A dead trainer's trial goes stale with its heartbeat and the setting is
  claimed again.
- **Pruning.** The training reports the adapters' accuracy at checkpoints (``trial.report``) and
  the ledger's pruner (``search.pruner``) decides, among the settings at the same step, whether it
  goes on. Optuna's pruners are single-objective; the main study is multi-objective, so they run
  here, where the objective is the one training changes. A pruned setting keeps its checkpoints;
  claimed again, it re-reports them and resumes where it stopped if the pruner lets it.
- **Warm starts.** ``search.warm_start``: a new setting starts from the nearest adapter the
  ledger holds (:func:`nearest_start`).
- **Artifacts.** Adapters, checkpoints (each as it is reached) and results go to Optuna's
  artifact store (a folder, or S3) and their ids and digests (sha256 and size) to the ledger
  study's user attributes, so a worker whose local cache lacks them downloads them instead of
  training. A download that is missing or does not match its digest (anyone who can write the
  store could have replaced it) is refused with one line and recomputed; nothing downloaded is
  unpickled or executed (:mod:`codesign.accuracy.state_io`).
- **Accounting.** Each ledger trial records the steps it advanced (``from_step`` -> ``to_step``):
  :func:`training_steps` sums them (what the search spent on training).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from optuna.pruners import BasePruner

from codesign.accuracy import cache, integrity
from codesign.config.search import SearchSettings

SUFFIX = ":trainings"
#: the knobs a warm start may change: (scale, weight). The adapters learn to compensate the
#: tiles' noise, which the converters' bits and the integration time set, while the rank sets
#: only their capacity; so a neighbour with the same noise and another rank is the nearest
#: (a stated choice: one octave of rank counts 0.5, one converter bit 1, one octave of
#: integration time 2)
WARM_AXES = {"rank": ("log2", 0.5), "adc_bits": ("linear", 1.0), "dac_bits": ("linear", 1.0),
             "train_integration_ns": ("log2", 2.0)}


def ledger_name(study_name: str) -> str:
    return study_name + SUFFIX


class DominatedPruner(BasePruner):
    """Prune a setting whose accuracy at a checkpoint is beaten by another setting's at the same
    checkpoint that is no worse in any other objective of the study (latency, energy...: the
    hardware figures of the trial that claimed it, in the ledger trial's ``costs``). The
    multi-objective rule: a cheap setting of low accuracy may still be on the front and is kept,
    where a single-objective pruner would stop it."""

    def prune(self, study, trial) -> bool:
        step = trial.last_step
        costs = trial.user_attrs.get("costs")
        if step is None or costs is None:
            return False
        value = trial.intermediate_values[step]
        better = (lambda a, b: a > b) if study.direction.name == "MAXIMIZE" else (
            lambda a, b: a < b)
        for other in study.get_trials(deepcopy=False):
            theirs = other.user_attrs.get("costs")
            if (other.number == trial.number or step not in other.intermediate_values
                    or theirs is None or set(theirs) != set(costs)):
                continue
            if better(other.intermediate_values[step], value) and all(
                    theirs[k] <= costs[k] for k in costs):
                return True
        return False


def make_pruner(search: SearchSettings, rungs: tuple[int, ...], steps: int):
    """The Optuna pruner of ``search.pruner`` for trainings of ``steps`` steps, checkpoints at
    ``rungs`` (the halving pruners' first rung is the first checkpoint)."""
    import optuna

    first = rungs[0] if rungs else max(1, steps // 4)
    if search.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=0, n_warmup_steps=0)
    if search.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=first, reduction_factor=search.reduction_factor)
    if search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=first, max_resource=steps, reduction_factor=search.reduction_factor)
    if search.pruner == "dominated":
        return DominatedPruner()
    return optuna.pruners.NopPruner()


def artifact_store(where: str):
    """Optuna's artifact store for ``search.artifacts``: s3://bucket or a folder."""
    from codesign.config.search import artifacts_problem
    from codesign.errors import InputError

    problem = artifacts_problem(where)
    if problem:
        raise InputError(f"search.artifacts: {problem}")
    if where.startswith("s3://"):
        try:
            import boto3
        except ModuleNotFoundError:
            raise InputError("search.artifacts: an s3:// store needs boto3 (pip install boto3)") \
                from None
        from optuna.artifacts import Boto3ArtifactStore

        bucket = where[len("s3://"):].strip("/")
        return Boto3ArtifactStore(bucket, client=boto3.client("s3"))
    from optuna.artifacts import FileSystemArtifactStore

    try:
        Path(where).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"search.artifacts: cannot create {where}: "
                         f"{exc.strerror or exc}") from None
    return FileSystemArtifactStore(where)


def family(key_data: dict) -> str:
    """What two settings must share for one to warm-start the other: the train key data without
    the warm axes (rank, ADC/DAC bits, training integration time)."""
    data = json.loads(json.dumps(key_data, default=str))
    for name in ("adc_bits", "dac_bits", "train_integration_ns"):
        data["aimc"].pop(name, None)
    if data.get("lora"):
        data["lora"].pop("rank", None)
    return cache.digest(data)


def warm_axes(key_data: dict) -> dict[str, float]:
    aimc, lora = key_data["aimc"], key_data.get("lora") or {}
    return {"rank": lora.get("rank"), "adc_bits": aimc["adc_bits"], "dac_bits": aimc["dac_bits"],
            "train_integration_ns": aimc.get("train_integration_ns")}


def distance(a: dict, b: dict) -> float:
    """How far apart two settings of one family are (0: the same warm axes)."""
    total = 0.0
    for name, (scale, weight) in WARM_AXES.items():
        x, y = a.get(name), b.get(name)
        if x == y:
            continue
        if x is None or y is None:
            return math.inf
        total += weight * (abs(math.log2(x / y)) if scale == "log2" else abs(x - y))
    return total


def nearest_start(target: dict, candidates: list[dict]) -> Optional[dict]:
    """The candidate to warm-start ``target`` from: same family, smallest :func:`distance`, then
    one trained from scratch over a warm-started one, then the earliest. Candidates and target
    are ledger records ({"family", "axes", "adapter_key", "start", "number"})."""
    same = [c for c in candidates if c["family"] == target["family"]
            and math.isfinite(distance(target["axes"], c["axes"]))]
    if not same:
        return None
    return min(same, key=lambda c: (distance(target["axes"], c["axes"]),
                                    c.get("start") is not None, c["number"]))


@dataclass
class Training:
    """What the ledger says about one setting for one trial."""

    setting: str
    adapter_key: str
    status: str = "complete"            # complete | pruned
    start: Optional[str] = None         # adapter key it warm-started from
    steps: int = 0                      # the adapter's training steps
    from_step: int = 0                  # steps this claim advanced: from_step -> to_step
    to_step: int = 0
    computed: int = 0                   # steps actually computed here (the rest: cached)
    pruned_at: Optional[int] = None
    proxy: Optional[float] = None
    ledger_trial: Optional[int] = None
    trained_here: bool = False
    waited_s: float = 0.0

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Ledger:
    """The training ledger of one study in one storage (see the module's docstring)."""

    def __init__(self, storage, lock: Callable[[str], Any], study_name: str, direction: Any,
                 search: SearchSettings, artifacts: str, steps: int):
        """``storage``: an Optuna RDB storage with heartbeats (a stale claim is failed, not
        retried); ``lock(name)``: the workers' lock around "look up, then claim"
        (:func:`codesign.study.trial_slot_lock` of the storage's URL)."""
        import optuna

        self.search, self.lock = search, lock
        self.name = ledger_name(study_name)
        # checkpoints with or without a pruner: an interrupted training resumes from its last
        self.rungs = search.rungs(steps)
        self.refused: set[str] = set()               # artifacts found damaged: upload again
        self.storage = storage
        self.store = artifact_store(artifacts)       # first: a bad location creates nothing
        self.study = optuna.create_study(
            study_name=self.name, storage=self.storage, load_if_exists=True,
            direction=direction, sampler=optuna.samplers.RandomSampler(seed=0),
            pruner=make_pruner(search, self.rungs, steps))

    # -- reading the ledger ------------------------------------------------------------------
    def records(self) -> list:
        return [t for t in self.study.get_trials(deepcopy=False) if "setting" in t.user_attrs]

    def reached(self, step: int, but: int) -> int:
        """How many other settings reported a checkpoint at ``step`` (the pruner's evidence)."""
        return sum(step in t.intermediate_values for t in self.records() if t.number != but)

    def _artifact(self, kind: str, key: str) -> Optional[str]:
        return self.study.user_attrs.get(f"{kind}:{key}")

    # -- artifacts ---------------------------------------------------------------------------
    def put(self, kind: str, key: str, path: Path) -> None:
        """Upload a file or folder (as an uncompressed tar) and name it ``kind:key``, with its
        digest (sha256 and size) as ``kind:key:digest``, recorded before the id is."""
        from optuna.artifacts import upload_artifact

        with tempfile.TemporaryDirectory() as tmp:
            if Path(path).is_dir():
                packed = Path(tmp) / f"{key}.tar"
                with tarfile.open(packed, "w") as tar:
                    for item in sorted(Path(path).iterdir()):
                        tar.add(item, arcname=item.name)
                path = packed
            digest = integrity.file_digest(Path(path))
            artifact_id = upload_artifact(artifact_store=self.store, file_path=str(path),
                                          study_or_trial=self.study, storage=self.storage)
        self.study.set_user_attr(f"{kind}:{key}:digest", digest)
        self.study.set_user_attr(f"{kind}:{key}", artifact_id)
        self.refused.discard(f"{kind}:{key}")

    def wants(self, kind: str, key: str) -> bool:
        """Whether ``kind:key`` should be uploaded: the store has none, or a damaged one."""
        return self._artifact(kind, key) is None or f"{kind}:{key}" in self.refused

    def _refuse(self, kind: str, key: str, why: str) -> bool:
        self.refused.add(f"{kind}:{key}")
        hint = (" (workers on several machines need one shared search.artifacts)"
                if why.startswith("is missing") else "")
        integrity.say(f"artifact {kind}:{key} in the artifact store {why}: not used, "
                      f"recomputing{hint}")
        return False

    def get(self, kind: str, key: str, target: Path) -> bool:
        """Download ``kind:key`` into ``target`` (a folder for packed folders, else a file),
        atomically, once it matches the digest recorded at upload; False (with one line when
        the ledger names one) if the ledger has no such artifact or it is missing, damaged or
        not the file that was uploaded."""
        from optuna.artifacts import download_artifact
        from optuna.artifacts.exceptions import ArtifactNotFound

        artifact_id = self._artifact(kind, key)
        if artifact_id is None:
            return False
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            blob = tmp / "blob"
            try:
                download_artifact(artifact_store=self.store, artifact_id=artifact_id,
                                  file_path=str(blob))
            except (ArtifactNotFound, OSError) as exc:
                return self._refuse(kind, key, f"is missing ({type(exc).__name__})")
            try:
                integrity.check_file(blob, self.study.user_attrs.get(f"{kind}:{key}:digest"))
            except integrity.Damaged as exc:
                return self._refuse(kind, key, f"is damaged or replaced ({exc.why})")
            if kind == "result":
                blob.replace(target)
            else:
                folder = tmp / "folder"
                try:
                    with tarfile.open(blob) as tar:
                        tar.extractall(folder, filter="data")
                except (tarfile.TarError, OSError) as exc:
                    return self._refuse(kind, key, f"is not a readable folder ({exc})")
                if target.exists():
                    shutil.rmtree(target)
                folder.replace(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return True

    def fetch_adapter(self, cache_dir: Path, key: str) -> bool:
        """Whether the adapter of ``key`` is in the local cache, intact, after fetching it from
        the store if it was not."""
        if cache.has_adapter(cache_dir, key):
            return True
        if not self.get("adapter", key, cache.adapter_dir(cache_dir, key)):
            return False
        if cache.has_adapter(cache_dir, key):
            return True
        self.refused.add(f"adapter:{key}")
        return False

    def fetch_checkpoints(self, cache_dir: Path, key: str) -> None:
        for rung in self.rungs:
            if not cache.has_checkpoint(cache_dir, key, rung) and self.get(
                    "checkpoint", f"{key}@{rung}", cache.checkpoint_dir(cache_dir, key, rung)) \
                    and not cache.has_checkpoint(cache_dir, key, rung):
                self.refused.add(f"checkpoint:{key}@{rung}")

    def fetch_result(self, cache_dir: Path, key: str, labels: Optional[tuple] = None) -> None:
        """The result of ``key`` into the local cache from the store, when it is a complete one
        (:func:`codesign.accuracy.cache.load_result` discards it otherwise)."""
        path = cache.result_path(cache_dir, key)
        if not path.is_file() and self.get("result", key, path) \
                and cache.load_result(cache_dir, key, labels) is None:
            self.refused.add(f"result:{key}")

    # -- claiming and training ---------------------------------------------------------------
    def train(self, setting: str, key_data: dict, job, costs: Optional[dict] = None) -> Training:
        """The setting's training: found in the ledger, waited for, or claimed and run by
        ``job(trial, training)`` (which trains, reports checkpoints through the
        trial and returns the final value, or raises optuna.TrialPruned)."""
        from codesign.stale import fail_stale

        waited, t0 = False, time.perf_counter()
        while True:
            with self.lock(self.name) as lock:
                mine = [t for t in self.records() if t.user_attrs["setting"] == setting]
                done = [t for t in mine if t.state.name == "COMPLETE"]
                if done:
                    found = self._training(done[0])
                    found.waited_s = round(time.perf_counter() - t0, 2) if waited else 0.0
                    return found
                if any(t.state.name == "RUNNING" for t in mine):
                    fail_stale(self.study)      # a dead trainer's claim expires (or one never beat)
                    if any(t.state.name == "RUNNING" for t in self.records()
                           if t.user_attrs["setting"] == setting):
                        wait = True
                    else:
                        continue
                else:
                    wait = False
                    reached = max([int(t.user_attrs.get("to_step", 0)) for t in mine], default=0)
                    holder: dict[str, Training] = {}

                    def run(trial, lock=lock, reached=reached, holder=holder):
                        record = Training(setting, setting, from_step=reached,
                                          ledger_trial=trial.number, trained_here=True)
                        holder["t"] = record
                        trial.set_user_attr("setting", setting)
                        trial.set_user_attr("family", family(key_data))
                        trial.set_user_attr("axes", warm_axes(key_data))
                        trial.set_user_attr("from_step", reached)
                        if costs is not None:
                            trial.set_user_attr("costs", costs)
                        lock.release()                 # the claim exists: others may look
                        return job(trial, record)

                    self.study.optimize(run, n_trials=1, catch=(), gc_after_trial=False)
                    return holder["t"]
            if wait:
                waited = True
                time.sleep(self.search.claim_poll_s)

    def start_for(self, key_data: dict) -> Optional[dict]:
        """The warm start of a new setting (None: train from scratch)."""
        if not self.search.warm_start:
            return None
        candidates = [self._candidate(t) for t in self.records() if t.state.name == "COMPLETE"]
        return nearest_start({"family": family(key_data), "axes": warm_axes(key_data)},
                             candidates)

    @staticmethod
    def _candidate(t) -> dict:
        a = t.user_attrs
        return {"family": a["family"], "axes": a["axes"], "adapter_key": a["adapter_key"],
                "start": a.get("start"), "number": t.number}

    @staticmethod
    def _training(t) -> Training:
        a = t.user_attrs
        return Training(a["setting"], a["adapter_key"], start=a.get("start"),
                        steps=int(a.get("steps", 0)), ledger_trial=t.number,
                        from_step=0, to_step=0, proxy=t.value)


def training_steps(storage, study_name: str) -> dict[str, int]:
    """What a study spent on adapter training, from its ledger: steps advanced (summed over
    claims), steps computed (not loaded from a cache), trainings, pruned, warm-started."""
    import optuna

    try:
        ledger = optuna.load_study(study_name=ledger_name(study_name), storage=storage)
    except KeyError:
        return {"steps": 0, "computed": 0, "trainings": 0, "pruned": 0, "warm": 0}
    trials = [t for t in ledger.get_trials(deepcopy=False) if "setting" in t.user_attrs]
    return {
        "steps": sum(max(0, int(t.user_attrs.get("to_step", 0))
                         - int(t.user_attrs.get("from_step", 0))) for t in trials),
        "computed": sum(int(t.user_attrs.get("computed", 0)) for t in trials),
        "trainings": len({t.user_attrs["setting"] for t in trials}),
        "pruned": sum(t.state.name == "PRUNED" for t in trials),
        "warm": sum(t.user_attrs.get("start") is not None for t in trials
                    if t.state.name == "COMPLETE"),
    }


def evaluate(ledger: Ledger, point, cache_dir: Path, proxy_at: str, progress: bool = False,
             costs: Optional[dict] = None):
    """(AccuracyResult, Training) of a design point through the ledger: its setting trained at
    most once in the study (claimed, pruned, warm-started as the study's ``search`` says), its
    adapter and result fetched from the artifact store when another worker made them.
    ``costs``: the trial's other objectives, each to be minimised (for ``pruner: dominated``)."""
    import optuna

    from codesign.accuracy.engine import TrainPlan, evaluate as run

    workload, aimc, lora, settings = (point.workload.accuracy, point.hardware.aimc, point.lora,
                                      point.accuracy)
    cache_dir = Path(cache_dir)
    setting = cache.train_key(workload, aimc, lora, settings)
    data = cache.train_key_data(workload, aimc, lora, settings)
    labels = tuple(settings.evaluation.drift_times)
    out: dict[str, Any] = {}

    def share_checkpoint(step: int, folder: Path) -> None:
        """Each checkpoint to the store as it is reached (written or found in the local cache):
        a worker on another machine resumes a killed or pruned training from it."""
        if ledger.wants("checkpoint", f"{setting}@{step}"):
            ledger.put("checkpoint", f"{setting}@{step}", folder)

    def job(trial, record: Training):
        start = ledger.start_for(data) if record.from_step == 0 else None
        if start is not None and ledger.fetch_adapter(cache_dir, start["adapter_key"]):
            record.steps = ledger.search.warm_steps(settings.training.steps)
            record.start = start["adapter_key"]
            record.adapter_key = cache.warm_key(setting, record.start, record.steps,
                                                "tail-lr")
            # like the last steps of a full training: the learning rate starts where a full
            # schedule's linear decay would be at that point
            plan = TrainPlan(start=cache.adapter_dir(cache_dir, record.start), steps=record.steps,
                             adapter_key=record.adapter_key,
                             lr_scale=record.steps / settings.training.steps)
        else:
            record.steps = settings.training.steps
            ledger.fetch_checkpoints(cache_dir, setting)

            def on_rung(step: int, value: float) -> bool:
                trial.report(value, step)
                stop = trial.should_prune()        # also files the value with the pruner
                return not stop or ledger.reached(step, trial.number) < ledger.search.min_settings

            plan = TrainPlan(rungs=ledger.rungs, proxy_at=proxy_at, adapter_key=setting,
                             on_rung=on_rung if ledger.rungs and ledger.search.prunes else None,
                             on_checkpoint=share_checkpoint)
        ledger.fetch_adapter(cache_dir, record.adapter_key)
        ledger.fetch_result(cache_dir, cache.result_key(record.adapter_key, settings, aimc),
                            labels)
        result = run(workload, aimc, lora, settings, cache_dir, progress=progress, plan=plan)
        out["result"] = result
        record.computed = int(result.extras.get("steps_computed") or 0)
        record.pruned_at = result.extras.get("pruned_at")
        record.to_step = record.pruned_at if record.pruned_at is not None else record.steps
        if record.start is not None:
            record.from_step = 0
        for name in ("adapter_key", "start", "steps", "to_step", "computed"):
            trial.set_user_attr(name, getattr(record, name))
        trial.set_user_attr("from_step", record.from_step)
        if result.status == "pruned":
            record.status, record.proxy = "pruned", result.extras.get("proxy", {}).get(
                str(record.pruned_at))
            raise optuna.TrialPruned(result.reason)
        if not result.ok:
            raise RuntimeError(result.reason or "accuracy failed")
        if ledger.wants("adapter", record.adapter_key):
            ledger.put("adapter", record.adapter_key, cache.adapter_dir(cache_dir,
                                                                        record.adapter_key))
        _share_result(ledger, cache_dir, result, settings, aimc, record.adapter_key)
        record.proxy = float(result.analog_after[proxy_at]["mean"])
        return record.proxy

    training = ledger.train(setting, data, job, costs=costs)
    if training.trained_here:
        result = out.get("result")
        if result is None:
            raise RuntimeError("the ledger's training job ended without a result")
        return result, training
    plan = TrainPlan(adapter_key=training.adapter_key)
    if not ledger.fetch_adapter(cache_dir, training.adapter_key):
        plan = _retrain_plan(ledger, training, settings, cache_dir)
    ledger.fetch_result(cache_dir, cache.result_key(training.adapter_key, settings, aimc), labels)
    result = run(workload, aimc, lora, settings, cache_dir, progress=progress, plan=plan)
    if result.ok and ledger.wants("adapter", training.adapter_key) and \
            cache.has_adapter(cache_dir, training.adapter_key):
        ledger.put("adapter", training.adapter_key, cache.adapter_dir(cache_dir,
                                                                      training.adapter_key))
    if result.ok and not result.cache_hit:
        _share_result(ledger, cache_dir, result, settings, aimc, training.adapter_key)
    result.cache_hit = True
    return result, training


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
