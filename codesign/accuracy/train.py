"""AHWA training: adapters (or all weights, full AHWA) under hardware noise, seeded, with tqdm.

Two training-noise models (``NoiseSettings.train_noise_model``):

- ``gaussian`` (the paper): tiles in train mode; aihwkit's ADD_NORMAL modifier adds fresh Gaussian
  noise of ``weight_noise`` x the weight range to a temporary copy of the weights at every forward
  pass, plus output noise; clean weights are kept.
- ``pcm`` (hardware in the loop): tiles in eval mode, re-programmed with aihwkit's PCM model every
  ``pcm_reprogram_every`` steps and drifted at every step to a random time, log-uniform between
  20 s and ``train_max_drift`` (with read noise and GDC), exactly as at inference; the gradient
  flows through the frozen noisy tiles into the adapters. With ``train_chip_seed`` the tiles are
  programmed once, as that one chip, and only re-drifted (adapters calibrated per chip).

``loss='halora'`` (HaLoRA-style): loss = noisy + clean + halora_weight x |noisy - clean|, the clean
pass using the tiles' reference weights (no programming noise, drift or weight modifier).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import dataclass, field

from codesign.accuracy import convert
from codesign.accuracy.integrity import Damaged
from codesign.accuracy.settings import AccuracySettings, drift_seconds


@dataclass
class TrainReport:
    losses: list = field(default_factory=list)
    seconds: float = 0.0
    peak_bytes: int = 0
    status: str = "ok"
    reason: str = ""
    state: dict | None = None


@contextlib.contextmanager
def clean_tiles(model, gaussian: bool):
    """Temporarily the reference weights in every tile (alpha 1, eval mode: no modifier)."""
    import torch

    saved = []
    with torch.no_grad():
        for tile in convert.analog_tiles(model):
            ref = tile.reference_combined_weights
            if ref is None:
                saved.append((tile, None, tile.alpha.clone()))
                continue
            saved.append((tile, tile.tile.get_weights().clone(), tile.alpha.clone()))
            tile.tile.set_weights(ref)
            tile.alpha = torch.ones_like(tile.alpha)
    if gaussian:
        convert.set_tiles_mode(model, False)
    try:
        yield
    finally:
        with torch.no_grad():
            for tile, w, alpha in saved:
                if w is not None:
                    tile.tile.set_weights(w)
                tile.alpha = alpha
        if gaussian:
            convert.set_tiles_mode(model, True)


def _set_train_mode(model, mode: str, gaussian: bool) -> None:
    """Base network in eval mode (no dropout in the frozen body), LoRA dropout on, tiles per noise."""
    model.eval()
    for name, module in model.named_modules():
        if "lora_dropout" in name or (mode == "full_ahwa" and "dropout" in name):
            module.train()
    convert.set_tiles_mode(model, gaussian)


def _same_shape(what: str, saved, fresh) -> None:
    """ValueError unless ``saved`` has the keys, lengths and kinds of values of ``fresh`` (what
    this training's own optimiser or schedule would save: numbers where numbers are...)."""
    def kind(v):
        return "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v)

    if isinstance(fresh, dict):
        if not isinstance(saved, dict) or set(saved) != set(fresh):
            raise ValueError(f"{what}: other entries than this training's")
        for k in fresh:
            _same_shape(f"{what}.{k}", saved[k], fresh[k])
    elif isinstance(fresh, (list, tuple)):
        if kind(saved) != kind(fresh) or len(saved) != len(fresh):
            raise ValueError(f"{what}: {len(saved) if isinstance(saved, (list, tuple)) else 'no'} "
                             f"entries, expected {len(fresh)}")
        for a, b in zip(saved, fresh):
            _same_shape(what, a, b)
    elif fresh is None:
        if saved is not None:
            raise ValueError(f"{what}: a {type(saved).__name__} where nothing belongs")
    elif kind(saved) != kind(fresh):
        raise ValueError(f"{what}: a {type(saved).__name__} where a {type(fresh).__name__} belongs")


def _resume(state: dict, opt, sched, rng: random.Random, params: list, steps: int) -> int:
    """Load a saved training state into the optimiser, schedule and generator; the step to go
    on from. :class:`~codesign.accuracy.integrity.Damaged` (nothing trained yet) when the state
    does not fit this training: another parameter count or shape, a step past the end."""
    import torch

    try:
        first = int(state["step"])
        if not 0 <= first <= steps:
            raise ValueError(f"step {first} outside 0..{steps}")
        _same_shape("optimiser", state["optimizer"]["param_groups"],
                    opt.state_dict()["param_groups"])
        _same_shape("schedule", state["schedule"], sched.state_dict())
        opt.load_state_dict(state["optimizer"])
        for p in params:
            for name, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.dim() and value.shape != p.shape:
                    raise ValueError(f"optimiser {name} of shape {tuple(value.shape)} for a "
                                     f"parameter of shape {tuple(p.shape)}")
        sched.load_state_dict(state["schedule"])
        rng.setstate(state["python_rng"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
        raise Damaged(None, f"training state does not fit this training: {exc}") from None
    return first


def train(model, task, settings: AccuracySettings, device, progress: bool = True,
          state: dict | None = None, until: int | None = None) -> TrainReport:
    """Train what requires grad in ``model`` for ``settings.training.steps`` steps.

    ``until``: stop after that step (a checkpoint); ``report.state`` then holds what
    resuming needs (optimiser, schedule and random states, the step), and ``state=`` resumes
    from it: the same data order, learning-rate schedule and noise seeds as one uninterrupted
    run (the tiles are re-programmed with the seed of the interval the step falls in)."""
    import torch

    from codesign.accuracy.memory import PeakMemory

    tr, noise = settings.training, settings.noise
    gaussian = noise.train_noise_model == "gaussian" or tr.mode == "full_ahwa"
    params = [p for n, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=tr.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / tr.steps))
    torch.manual_seed(tr.seed)
    rng = random.Random(tr.seed)
    batches = task.train_batches(tr.batch_size, tr.seed)
    first = 0
    if state is not None:
        first = _resume(state, opt, sched, rng, params, tr.steps)
        for _ in range(first):
            next(batches)
        if gaussian:
            torch.set_rng_state(state["torch_rng"])
    last = tr.steps if until is None else min(int(until), tr.steps)
    lo, hi = math.log(20.0), math.log(max(21.0, drift_seconds(noise.train_max_drift)))
    report = TrainReport()
    _set_train_mode(model, tr.mode, gaussian)
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=last, initial=first,
                   desc=f"AHWA-{'LoRA' if tr.mode == 'lora' else 'full'} "
                        f"({'gaussian' if gaussian else 'pcm'} noise)",
                   leave=False, dynamic_ncols=True)
    try:
        with PeakMemory(device) as peak:
            for step in range(first, last):
                if not gaussian:
                    with torch.no_grad():
                        if noise.train_chip_seed is not None:
                            if step == first:          # one chip, programmed once
                                convert.program(model, seed=noise.train_chip_seed)
                        elif step % noise.pcm_reprogram_every == 0 or step == first:
                            every = noise.pcm_reprogram_every
                            convert.program(model, seed=tr.seed * 100003 + step // every * every)
                        if step == first and state is not None:
                            torch.set_rng_state(state["torch_rng"])
                        convert.drift(model, math.exp(rng.uniform(lo, hi)))
                batch = next(batches)
                loss = task.loss(model, batch)
                if tr.loss == "halora":
                    with clean_tiles(model, gaussian):
                        clean = task.loss(model, batch)
                    loss = loss + clean + tr.halora_weight * (loss - clean).abs()
                value = float(loss.detach())
                if not math.isfinite(value):
                    report.status, report.reason = "failed", f"non-finite loss ({value}) at step {step}"
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if tr.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, tr.grad_clip)
                opt.step()
                sched.step()
                if tr.mode == "full_ahwa":
                    convert.post_update(model)
                report.losses.append(value)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{value:.4f}")
        report.peak_bytes = peak.peak_bytes
        report.state = {"step": first + len(report.losses), "optimizer": opt.state_dict(),
                        "schedule": sched.state_dict(), "python_rng": rng.getstate(),
                        "torch_rng": torch.get_rng_state()}
    finally:
        if bar is not None:
            bar.close()
        report.seconds = time.perf_counter() - t0
        model.eval()
        convert.set_tiles_mode(model, False)
    if report.status == "ok":
        bad = [n for n, p in model.named_parameters() if p.requires_grad
               and not bool(torch.isfinite(p).all())]
        if bad:
            report.status, report.reason = "failed", f"non-finite weights after training: {bad[0]}"
    return report
