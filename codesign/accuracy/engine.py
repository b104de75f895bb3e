"""Putting it together: load -> LoRA -> analog conversion -> train (or load) -> drift evaluation.

:func:`evaluate` is what :func:`codesign.accuracy.evaluate_accuracy` runs. :func:`build` gives the
converted model for other uses (tests, :class:`MultiTaskModel`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from hw_models.specs import PLACEMENTS, AimcTileSpec, LoraSpec

from codesign.accuracy import cache, convert, integrity, lora as lora_mod, roles, state_io
from codesign.accuracy.rpu import train_integration_ns
from codesign.accuracy.settings import AccuracyResult, AccuracySettings, WorkloadSpec
from codesign.errors import InputError


def pick_device(name: str):
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device: 'cuda' asked for, but torch sees no CUDA device")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def torch_threads() -> int:
    """The intra-op thread count the accuracy model uses: ``CODESIGN_TORCH_THREADS`` when set
    (0 = torch's own choice), otherwise the cores left free by the machine's load: the CPU count
    minus the 1-minute load average, rounded, at least 1. Measured on the 2-core machine with an
    earlier version (docs, accuracy model: Measured figures): idle, 2 threads and 1 took 109 s and 145 s
    for the default evaluation; with other jobs at load 4-5, 1 thread took 253 s where 2 threads
    (torch's default) had not finished after 568 s: OpenMP threads that share busy cores
    spin-wait for each other at every one of the tile simulation's many small operators."""
    raw = os.environ.get("CODESIGN_TORCH_THREADS", "").strip()
    if not raw:
        cores = os.cpu_count() or 1
        try:
            load = os.getloadavg()[0]
        except OSError:                                   # not available on this platform
            return cores
        return max(1, min(cores, int(cores - load + 0.5)))
    try:
        n = int(raw)
    except ValueError:
        raise InputError(f"CODESIGN_TORCH_THREADS: expected a whole number >= 0, got {raw!r}") \
            from None
    if n < 0:
        raise InputError(f"CODESIGN_TORCH_THREADS: expected a whole number >= 0, got {raw!r}")
    return n


def _threads() -> None:
    import torch

    n = torch_threads()
    if n > 0 and torch.get_num_threads() != n:
        torch.set_num_threads(n)


@dataclass
class Built:
    """A loaded, adapted and converted model with what was done to it."""

    model: Any
    task: Any
    device: Any
    analog_names: list
    adapter_names: list
    digital_metric: float
    roles_by_name: dict
    #: the task's extra measures of the digital model ({} for a one-metric task)
    digital_measures: dict = dataclasses.field(default_factory=dict)


def build(workload: WorkloadSpec, aimc: AimcTileSpec, lora: LoraSpec,
          settings: AccuracySettings, *, task=None, device=None) -> Built:
    """Load the digital model, measure it, add adapters (mode lora), convert analog layers, freeze."""
    from codesign.accuracy.rpu import build_rpu_config
    from codesign.accuracy.workloads import load_task

    if not _hub_allowed():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _threads()
    device = device or pick_device(settings.device)
    task = task or load_task(workload)
    model = task.load_model().to(device)
    task.prepare(model)
    digital = task.evaluate(model, device)
    from codesign.accuracy.measures import task_measures

    digital_measures = task_measures(task)
    model = model.cpu()
    by_name = roles.linear_roles(model)
    from codesign.accuracy.digital import digital_names

    kept = set(digital_names(by_name, settings.digital))
    analog_names = [n for n in roles.select(by_name, PLACEMENTS[settings.analog_layers])
                    if n not in kept]
    if not analog_names and not kept:
        raise InputError(f"analog_layers: {settings.analog_layers!r} selects no linear layer of "
                         f"{workload.model!r}")
    adapter_names: list = []
    for p in model.parameters():
        p.requires_grad_(settings.training.mode == "full_ahwa")
    if settings.training.mode == "lora":
        if lora.rank <= 0:
            raise InputError("lora.rank: AHWA-LoRA needs rank >= 1 (use training.mode=full_ahwa "
                             "for the no-adapter baseline)")
        adapter_names = roles.select(by_name, lora.roles)
        if not adapter_names:
            raise InputError(f"lora.placement: {lora.placement!r} matches no linear layer of "
                             f"{workload.model!r} (its layer roles: "
                             f"{sorted({r for r in by_name.values() if r})})")
        model = lora_mod.apply_lora(model, lora, adapter_names, task.head_modules(),
                                    seed=settings.training.seed)
        prefix = "base_model.model."
        analog_targets = [prefix + n for n in analog_names]
    else:
        analog_targets = analog_names
    train_ns = train_integration_ns(aimc.integration_ns, settings.noise)
    rpu = build_rpu_config(aimc, settings.noise,
                           gaussian_training=(settings.noise.train_noise_model == "gaussian"
                                              or settings.training.mode == "full_ahwa"),
                           integration_ns=train_ns)
    convert.convert(model, analog_targets, rpu)
    if settings.training.mode == "lora":
        convert.freeze_analog(model)
        lora_mod.check_only_adapters(model)
    else:
        convert.unfreeze_analog(model)
    model = model.to(device)
    if task.pad_free:
        from codesign.accuracy import rows

        rows.install(model, convert.analog_layers(model))
    model.eval()
    return Built(model, task, device, analog_names, adapter_names, digital, by_name,
                 digital_measures)


def _hub_allowed() -> bool:
    return os.environ.get("CODESIGN_ALLOW_HUB", "") == "1"


def use_integration(model, aimc: AimcTileSpec, settings: AccuracySettings,
                    training: bool = False) -> None:
    """Tiles at the output / read noise of ``aimc.integration_ns`` (evaluation), or with
    ``training`` at that of the integration time the adapters train at
    (``noise.train_integration``)."""
    from codesign.accuracy.rpu import integration_noise

    t_int = aimc.integration_ns
    if training:
        t_int = train_integration_ns(t_int, settings.noise) or t_int
    convert.set_integration_noise(model, *integration_noise(t_int, settings.noise))


def _series(built: Built, settings: AccuracySettings, progress: bool, variants: dict,
            measures: Optional[dict] = None):
    from codesign.accuracy.drift import evaluate_series

    return evaluate_series(built.model, built.task, settings.evaluation, built.device, variants,
                           progress=progress, measures=measures)


class Checkpoints(Protocol):
    """Where a planned training reports its adapters' accuracy at each checkpoint: the one
    interface between the engine and a search's pruner (:mod:`codesign.study.pruners`)."""

    def report(self, step: int, value: float) -> bool:
        """File ``value`` (accuracy at the plan's ``proxy_at``) at ``step``; True: stop here."""
        ...


@dataclass(frozen=True)
class TrainPlan:
    """How :func:`evaluate` trains inside a multi-fidelity search (:mod:`codesign.study.ledger`).

    ``rungs``: checkpoints (adapter trainings only): steps after which the adapter, optimiser
    and random states are cached, so a later request for the same adapter (after a Ctrl-C, a
    killed worker, a pruned setting the search came back to) resumes from the furthest one
    instead of step 0; ``on_checkpoint(step, folder)`` is called with each one reached, cached
    or new (the ledger shares those its store lacks). With ``checkpoints`` the adapters'
    accuracy is also measured there (one draw at the drift time ``proxy_at``, cached with the
    checkpoint) and reported by ``checkpoints.report(step, value)`` (:class:`Checkpoints`);
    training stops there (the result's status is ``"pruned"``) when it answers True.
    ``start``: a cached adapter folder to start from (a warm start, any rank:
    :func:`codesign.accuracy.lora.load_adapter_transfer`), trained for ``steps`` steps instead
    of ``training.steps``, its learning rate scaled by ``lr_scale``; the adapter is then
    cached under ``adapter_key`` (:func:`codesign.accuracy.cache.warm_key`) instead of the
    train key.
    """

    rungs: tuple[int, ...] = ()
    proxy_at: str = "1d"
    checkpoints: Optional[Checkpoints] = None
    on_checkpoint: Optional[Callable[[int, Path], None]] = None
    start: Optional[Path] = None
    steps: Optional[int] = None
    adapter_key: Optional[str] = None
    lr_scale: float = 1.0


def evaluate(workload: WorkloadSpec, aimc: AimcTileSpec, lora: LoraSpec,
             settings: AccuracySettings, cache_dir: Path, progress: bool = True,
             init_from: Optional[AimcTileSpec] = None, use_result_cache: bool = True,
             plan: Optional[TrainPlan] = None) -> AccuracyResult:
    """See :func:`codesign.accuracy.evaluate_accuracy`. ``init_from``: dynamic adaptation, start
    from the adapter trained for that hardware (same everything else) and retrain for ``aimc``.
    ``plan``: checkpoints, pruning and warm starts (:class:`TrainPlan`)."""
    t_start = time.perf_counter()
    cache_dir = Path(cache_dir)
    plan = plan or TrainPlan()
    init_key = None
    if init_from is not None:
        init_key = cache.train_key(workload, init_from, lora, settings)
        if not cache.has_adapter(cache_dir, init_key):
            raise InputError("init_from: no cached adapter for that hardware setting; evaluate it "
                             "first")
    tkey = plan.adapter_key or cache.train_key(workload, aimc, lora, settings, init_key)
    rkey = cache.result_key(tkey, settings, aimc)
    train_settings = settings
    if plan.steps is not None or plan.lr_scale != 1.0:
        train_settings = dataclasses.replace(settings, training=dataclasses.replace(
            settings.training, steps=int(plan.steps or settings.training.steps),
            lr=settings.training.lr * plan.lr_scale))
    # a planned training with checkpoints walks them (the pruner sees each) before any cache hit
    walk = plan.checkpoints is not None and settings.training.mode == "lora"
    if use_result_cache and not walk:
        hit = _cached_result(cache_dir, rkey, t_start, settings, workload)
        if hit is not None:
            return hit

    built = build(workload, aimc, lora, settings)
    model, task = built.model, built.task
    trainable, total = lora_mod.count_params(model)
    labels = settings.evaluation.drift_times
    digital = {label: {"mean": built.digital_metric, "std": 0.0} for label in labels}
    extras: dict[str, Any] = {"workload": workload.name, "mode": settings.training.mode,
                              "train_noise_model": settings.noise.train_noise_model,
                              "analog_layers": len(built.analog_names),
                              **({"digital_layers": settings.digital.layers}
                                 if settings.digital.active else {}),
                              "adapter_layers": len(built.adapter_names),
                              "device": str(built.device), "train_key": tkey}
    res = AccuracyResult(digital=digital, trainable_params=trainable, total_params=total,
                         metric=task.metric, extras=extras)
    before = None
    recorded: dict = {}
    if settings.training.mode == "full_ahwa":
        use_integration(model, aimc, settings)
        before = _series(built, settings, progress, {"before": contextlib.nullcontext},
                         recorded)["before"]

    adapter_hit = (settings.training.mode == "lora" and not walk
                   and _load_cached_adapter(model, cache_dir, tkey))
    if adapter_hit:
        res.cache_hit = True
    else:
        if init_key is not None and not _load_cached_adapter(model, cache_dir, init_key):
            raise RuntimeError("init_from: the cached adapter for that hardware setting was "
                               "damaged and is discarded; evaluate that setting again")
        elif plan.start is not None:
            extras["warm_start"] = _warm_start(model, plan.start)

        use_integration(model, aimc, settings, training=True)

        report = _train_planned(built, aimc, train_settings, settings, plan, tkey, cache_dir,
                                progress)
        extras.update(train_seconds=round(report.seconds, 2),
                      train_peak_mb=round(report.peak_bytes / 2**20, 1),
                      final_loss=report.losses[-1] if report.losses else None,
                      first_loss=report.losses[0] if report.losses else None,
                      steps_computed=report.computed)
        if report.status == "pruned":
            res.status, res.reason = "pruned", report.reason
            extras.update(pruned_at=report.pruned_at, proxy=report.proxy)
            return res
        if report.status != "ok":
            res.status, res.reason = "failed", report.reason
            return res
        if walk and use_result_cache:
            hit = _cached_result(cache_dir, rkey, t_start, settings, workload)
            if hit is not None:
                hit.extras.update(steps_computed=report.computed)
                return hit
        if settings.training.mode == "lora" and not cache.has_adapter(cache_dir, tkey):
            cache.save_adapter_atomic(
                cache_dir, tkey, lambda d: lora_mod.save_adapter(model, d),
                cache.train_key_data(workload, aimc, lora, train_settings, init_key)
                | {"losses": report.losses, "proxy": report.proxy,
                   "start": str(plan.start) if plan.start else None})
        else:
            convert.sync_reference(model)
    t_eval = time.perf_counter()
    use_integration(model, aimc, settings)
    if settings.training.mode == "lora":
        out = _series(built, settings, progress,
                      {"before": model.disable_adapter, "after": contextlib.nullcontext}, recorded)
        before, after = out["before"], out["after"]
    else:
        after = _series(built, settings, progress, {"after": contextlib.nullcontext},
                        recorded)["after"]
    from codesign.accuracy.draws import split_result
    from codesign.accuracy.measures import tabulate

    res.analog_before, res.analog_after, extras["draws"] = split_result(before, after)
    res.measures = tabulate(built.digital_measures, recorded)
    extras["eval_seconds"] = round(time.perf_counter() - t_eval, 2)
    extras["seconds"] = round(time.perf_counter() - t_start, 2)
    if use_result_cache:
        cache.save_result(cache_dir, rkey, res.to_dict())
    return res


@dataclass
class _Planned:
    """What a planned training did: like train.TrainReport, plus pruning and checkpoint reuse."""

    losses: list
    seconds: float = 0.0
    peak_bytes: int = 0
    status: str = "ok"
    reason: str = ""
    pruned_at: Optional[int] = None
    proxy: dict = dataclasses.field(default_factory=dict)
    computed: int = 0

    def add(self, report) -> None:
        """Account one trained segment (a train.TrainReport)."""
        self.seconds += report.seconds
        self.peak_bytes = max(self.peak_bytes, report.peak_bytes)
        self.computed += len(report.losses)
        self.losses += report.losses


def proxy_accuracy(built: Built, aimc: AimcTileSpec, settings: AccuracySettings,
                   at: str) -> float:
    """The adapters' metric at one drift time, one noise draw (the evaluation's first chip):
    what a pruner sees at a checkpoint. Leaves the tiles at the training noise."""
    from codesign.accuracy.drift import evaluate_series
    from codesign.accuracy.settings import EvaluationSettings

    use_integration(built.model, aimc, settings)
    one = EvaluationSettings(drift_times=(at,), n_draws=1, seed=settings.evaluation.seed)
    out = evaluate_series(built.model, built.task, one, built.device,
                          {"after": contextlib.nullcontext})
    use_integration(built.model, aimc, settings, training=True)
    return float(out["after"][at]["mean"])


def _load_cached_adapter(model, cache_dir: Path, key: str) -> bool:
    """Load the cached adapter of ``key`` into ``model``: False when there is none or it is
    damaged (its files do not match their digests, or it does not fit: then it is discarded)."""
    if not cache.has_adapter(cache_dir, key):
        return False
    folder = cache.adapter_dir(cache_dir, key)
    try:
        lora_mod.load_adapter_weights(model, folder)
    except ValueError as exc:
        integrity.discard(folder, str(exc), "adapter")
        return False
    return True


def _warm_start(model, folder: Path) -> dict:
    """The warm start from a cached adapter folder; a damaged one is discarded and named in one
    line (the next claim fetches it again or trains from scratch)."""
    try:
        return lora_mod.load_adapter_transfer(model, folder)
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError) as exc:
        integrity.discard(folder, f"{type(exc).__name__}: {exc}", "warm-start adapter")
        raise RuntimeError(f"the warm-start adapter {folder} is damaged and was discarded; "
                           "the setting is trained on the next try") from None


@dataclass
class _Resume:
    """A cached checkpoint read and checked, not yet loaded into the model."""

    folder: Path
    tensors: dict
    state: dict


def _read_checkpoint(model, folder: Path) -> _Resume:
    """A checkpoint's adapter tensors (checked against the model's adapter) and training state,
    without touching the model; Damaged (naming the folder) when anything is off."""
    try:
        tensors = lora_mod.read_adapter(folder)
        lora_mod.check_fits(model, tensors)
    except ValueError as exc:
        raise integrity.Damaged(folder, str(exc)) from None
    return _Resume(folder, tensors, state_io.load(folder))


def _checkpoint_meta(meta: dict, folder: Path, rung: int) -> tuple[list, Optional[float]]:
    losses, proxy = meta.get("losses"), meta.get("proxy")
    if meta.get("step") != rung or not isinstance(losses, list) or len(losses) > rung or not all(
            isinstance(x, (int, float)) for x in losses) or not (
            proxy is None or isinstance(proxy, (int, float))):
        raise integrity.Damaged(folder, "meta.json does not describe this checkpoint")
    return [float(x) for x in losses], None if proxy is None else float(proxy)


def _train_planned(built: Built, aimc: AimcTileSpec, settings: AccuracySettings,
                   base: AccuracySettings, plan: TrainPlan, key: str, cache_dir: Path,
                   progress: bool) -> _Planned:
    """Train to ``settings.training.steps`` through the plan's checkpoints (adapter trainings):
    each is taken from the cache, or trained to and cached; with ``plan.checkpoints`` each is
    reported. A cached checkpoint found damaged on the way (unreadable, not fitting the model or
    this training) is discarded with one line and the walk starts again from the adapters it
    began with (an earlier checkpoint, or step 0)."""
    steps = settings.training.steps
    rungs = [r for r in plan.rungs if 0 < r < steps] if settings.training.mode == "lora" else []
    initial = lora_mod.snapshot(built.model) if rungs else None
    for _ in range(len(rungs) + 2):
        try:
            return _walk(built, aimc, settings, base, plan, key, cache_dir, progress, rungs)
        except integrity.Damaged as exc:
            if exc.path is None or initial is None:
                raise RuntimeError(f"damaged training state: {exc.why}") from None
            integrity.discard(exc.path, exc.why, "checkpoint")
            lora_mod.restore(built.model, initial)
    raise RuntimeError(f"checkpoints of {key} in {cache_dir} stay damaged after discarding them "
                       "(is the cache folder writable?)")


def _walk(built: Built, aimc: AimcTileSpec, settings: AccuracySettings, base: AccuracySettings,
          plan: TrainPlan, key: str, cache_dir: Path, progress: bool, rungs: list) -> _Planned:
    """One pass of :func:`_train_planned`. Cached checkpoints are read and checked in order but
    only the last one before training goes on is loaded into the model."""
    from codesign.accuracy.train import train

    out = _Planned(losses=[])
    state, state_from = None, None
    pending: Optional[_Resume] = None

    def resume() -> None:
        nonlocal pending, state, state_from
        if pending is not None:
            lora_mod.restore(built.model, pending.tensors)
            state, state_from, pending = pending.state, pending.folder, None

    def segment(until: Optional[int]):
        try:
            return train(built.model, built.task, settings, built.device, progress=progress,
                         state=state, until=until)
        except integrity.Damaged as exc:          # the state did not fit: nothing trained
            raise integrity.Damaged(state_from, exc.why) from None

    for rung in rungs:
        folder = cache.checkpoint_dir(cache_dir, key, rung)
        meta = cache.entry_meta(folder, cache.CHECKPOINT_FILES, "checkpoint")
        if meta is not None:
            out.losses, value = _checkpoint_meta(meta, folder, rung)
            pending = _read_checkpoint(built.model, folder)
            if value is None and plan.checkpoints is not None:  # cached without a pruner
                resume()
                value = proxy_accuracy(built, aimc, base, plan.proxy_at)
            if plan.on_checkpoint is not None:
                plan.on_checkpoint(rung, folder)
        else:
            resume()
            report = segment(rung)
            out.add(report)
            if report.status != "ok":
                out.status, out.reason = report.status, report.reason
                return out
            state, state_from = report.state, None
            value = (proxy_accuracy(built, aimc, base, plan.proxy_at)
                     if plan.checkpoints is not None else None)
            saved = state

            def write(d: Path, saved=saved) -> None:
                lora_mod.save_adapter(built.model, d)
                state_io.save(saved, d)

            cache.save_adapter_atomic(cache_dir, key, write,
                                      {"step": rung, "proxy": value, "losses": out.losses},
                                      final=folder)
            if plan.on_checkpoint is not None:
                plan.on_checkpoint(rung, folder)
        if value is not None:
            out.proxy[str(rung)] = value
        if plan.checkpoints is not None and value is not None and \
                plan.checkpoints.report(rung, value):
            out.status, out.pruned_at = "pruned", rung
            out.reason = f"pruned at step {rung} of {settings.training.steps} " \
                         f"({plan.proxy_at}: {value:.4g})"
            return out
    if _load_cached_adapter(built.model, cache_dir, key):
        # trained before: the checkpoints were replayed
        meta = cache.entry_meta(cache.adapter_dir(cache_dir, key), cache.ADAPTER_FILES,
                                "adapter") or {}
        losses = meta.get("losses")
        out.losses = list(losses) if isinstance(losses, list) else out.losses
        return out
    resume()
    report = segment(None)
    out.add(report)
    out.status, out.reason = report.status, report.reason
    return out


def _cached_result(cache_dir: Path, key: str, t_start: float, settings: AccuracySettings,
                   workload: WorkloadSpec) -> Optional[AccuracyResult]:
    """The cached result of ``key``, or None; a result cached without the measures its task
    reports (written before results kept them) is not used: the evaluation runs again (its
    adapters still come from the cache) and replaces it."""
    from codesign.accuracy.measures import has_measures

    hit = cache.load_result(cache_dir, key, tuple(settings.evaluation.drift_times))
    if hit is None or (not hit.get("measures") and has_measures(workload)):
        return None
    res = _result_from_dict(hit)
    res.cache_hit = True
    res.extras["seconds"] = round(time.perf_counter() - t_start, 3)
    return res


def _result_from_dict(d: dict) -> AccuracyResult:
    known = {f.name for f in dataclasses.fields(AccuracyResult)} - {"extras"}
    kwargs = {k: d[k] for k in known if k in d}
    extras = {k: v for k, v in d.items() if k not in known}
    return AccuracyResult(**kwargs, extras=extras)


class MultiTaskModel:
    """One converted analog model, several adapters swapped without re-converting or re-programming.

    ``mt = MultiTaskModel(workload, aimc, lora, settings, folder=None)`` builds the converted model
    with a first adapter called ``"default"`` (loaded from ``folder`` when given, e.g. a cache
    entry); ``mt.add("b", lora_spec, folder)`` adds another, saved by
    :func:`codesign.accuracy.lora.save_adapter` (``folder=None``: fresh); ``mt.use("b")`` activates
    it; ``mt.evaluate()`` takes the workload's metric with the
    tiles as they are (program / drift them with :mod:`codesign.accuracy.convert`).
    """

    def __init__(self, workload: WorkloadSpec, aimc: AimcTileSpec, lora: LoraSpec,
                 settings: AccuracySettings, folder: Path | None = None):
        self.settings = settings
        self.built = build(workload, aimc, lora, settings)
        self.model = self.built.model
        self.names = ["default"]
        if folder is not None:
            lora_mod.load_adapter_weights(self.model, Path(folder), adapter="default")
        self.analog_ids = [id(m) for m in convert.analog_layers(self.model)]

    def add(self, name: str, lora: LoraSpec, folder: Path | None = None) -> None:
        """A new adapter called ``name`` on the layers of ``lora.placement``."""
        import torch

        targets = roles.select(self.built.roles_by_name, lora.roles)
        if not targets:
            raise InputError(f"lora.placement: {lora.placement!r} matches no linear layer")
        torch.manual_seed(self.settings.training.seed)
        lora_mod.add_adapter(self.model, name, lora, targets, self.built.task.head_modules())
        if folder is not None:
            lora_mod.load_adapter_weights(self.model, Path(folder), adapter=name)
        convert.freeze_analog(self.model)
        self.model.to(self.built.device)
        self.names.append(name)

    def use(self, name: str) -> None:
        if name not in self.names:
            raise InputError(f"adapter {name!r}: not loaded (have {', '.join(self.names)})")
        self.model.set_adapter(name)
        convert.freeze_analog(self.model)

    def evaluate(self) -> float:
        import torch

        self.model.eval()
        with torch.no_grad():
            return self.built.task.evaluate(self.model, self.built.device)

    def same_analog_layers(self) -> bool:
        return [id(m) for m in convert.analog_layers(self.model)] == self.analog_ids


def adapt(workload: WorkloadSpec, old_aimc: AimcTileSpec, new_aimc: AimcTileSpec,
          lora: LoraSpec, settings: AccuracySettings, cache_dir: Path,
          progress: bool = True) -> AccuracyResult:
    """Dynamic adaptation: retrain the adapter trained for ``old_aimc`` for ``new_aimc`` (e.g. ADC
    and DAC from 8 to 6 bit); the old adapter is trained first if it is not cached."""
    if not cache.has_adapter(cache_dir, cache.train_key(workload, old_aimc, lora, settings)):
        evaluate(workload, old_aimc, lora, settings, cache_dir, progress=progress)
    return evaluate(workload, new_aimc, lora, settings, cache_dir, progress=progress,
                    init_from=old_aimc)
