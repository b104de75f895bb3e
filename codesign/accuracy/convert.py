"""Analog conversion of selected base linear layers, freezing, programming and drift.

Only the selected ``torch.nn.Linear`` layers become ``aihwkit.nn.AnalogLinear`` (pure-PyTorch
``TorchInferenceTile``); when a layer carries a peft LoRA wrapper, only its ``base_layer`` is
replaced, so ``lora_A`` / ``lora_B`` stay digital and peft keeps working (converting the whole peft
model would make the adapters analog too).

Frozen after conversion: the analog weights (``tile.weight`` and its ``analog_ctx``), the digital
biases and the per-column output scales (``out_scaling_alpha``). The output scales are part of the
tile periphery set when the meta-weights are programmed, shared by every task that uses the chip;
letting one task's training move them would break adapter swapping, so they never train in
AHWA-LoRA (in full AHWA they train with the weights, as in the authors' scripts).
"""

from __future__ import annotations

from typing import Iterable, Iterator


def _parent(model, name: str):
    head, _, last = name.rpartition(".")
    return (model.get_submodule(head) if head else model), last


def convert(model, names: Iterable[str], rpu_config) -> list[str]:
    """Replace each named linear layer (or the base layer of its peft wrapper) by an AnalogLinear.

    Weights are clipped and re-mapped once (the rpu_config's clip and remap), as programming would.
    Returns the converted names.
    """
    import torch
    from aihwkit.nn import AnalogLinear

    done = []
    for name in names:
        module = model.get_submodule(name)
        if hasattr(module, "base_layer"):          # a peft LoRA layer: convert its base only
            owner, attr = module, "base_layer"
        else:
            owner, attr = _parent(model, name)
        base = getattr(owner, attr)
        if isinstance(base, AnalogLinear):
            continue
        if not isinstance(base, torch.nn.Linear):
            raise TypeError(f"{name}: not a torch.nn.Linear ({type(base).__name__})")
        analog = AnalogLinear.from_digital(base, rpu_config)
        for tile in analog.analog_tiles():
            tile.post_update_step()                # clip (3 sigma) and channel-wise remap once
        analog.train(base.training)
        setattr(owner, attr, analog)
        done.append(name)
    return done


def analog_layers(model) -> list:
    from aihwkit.nn import AnalogLinear

    return [m for m in model.modules() if isinstance(m, AnalogLinear)]


def analog_tiles(model) -> Iterator:
    for layer in analog_layers(model):
        yield from layer.analog_tiles()


def freeze_analog(model) -> None:
    """No gradient for anything inside an analog layer (weights, analog_ctx, bias, out scales)."""
    for layer in analog_layers(model):
        for p in layer.parameters():
            p.requires_grad_(False)


def unfreeze_analog(model) -> None:
    """Full AHWA: analog weights, biases and output scales train."""
    for layer in analog_layers(model):
        for p in layer.parameters():
            p.requires_grad_(True)


def post_update(model) -> None:
    """After an optimiser step on analog weights: clip and remap (aihwkit's post_update_step)."""
    import torch

    with torch.no_grad():
        for tile in analog_tiles(model):
            tile.post_update_step()


def set_tiles_mode(model, training: bool) -> None:
    """Train mode = Gaussian weight modifier + output noise; eval mode = programmed weights, GDC."""
    for layer in analog_layers(model):
        layer.train(training)


def _each_tile(model, fn) -> None:
    """``fn(tile)`` for every tile: each tile with its own random stream, two at a time on a
    multi-core CPU (:func:`codesign.accuracy.rng.for_each_tile`) when every draw of the tiles'
    programming and drift comes from those streams; otherwise in turn from torch's global one."""
    from codesign.accuracy.rng import for_each_tile

    tiles = list(analog_tiles(model))
    if all(getattr(t, "tile_streams", lambda: False)() for t in tiles):
        for_each_tile(tiles, fn)
    else:
        for tile in tiles:
            fn(tile)


def program(model, seed: int) -> None:
    """Program every tile from its reference (clean) weights: programming noise, drift exponents."""
    import torch

    torch.manual_seed(seed)
    _each_tile(model, lambda tile: tile.program_weights(from_reference=True))


def drift(model, seconds: float) -> None:
    """Drift the programmed tiles to ``seconds`` after programming (plus read noise, then GDC)."""
    _each_tile(model, lambda tile: tile.drift_weights(float(seconds)))


def restore_reference(model) -> None:
    """Put the clean reference weights back in the tiles (undo programming) and reset GDC."""
    import torch

    with torch.no_grad():
        for tile in analog_tiles(model):
            ref = getattr(tile, "reference_combined_weights", None)
            if ref is not None:
                tile.tile.set_weights(ref)
            tile.__dict__.pop("alpha", None)
            tile.alpha = torch.ones((1,), device=tile.device)
            tile.programmed_weights = None


def sync_reference(model) -> None:
    """After full AHWA training: the trained weights become the reference for programming."""
    for tile in analog_tiles(model):
        tile.reference_combined_weights = None


def set_integration_noise(model, out_noise: float, t_read_s: float) -> None:
    """Set every tile's output noise and PCM read time (the noise of another integration time,
    :func:`codesign.accuracy.rpu.integration_noise`) without re-converting or re-programming."""
    for tile in analog_tiles(model):
        cfg = tile.rpu_config
        cfg.forward.out_noise = float(out_noise)
        cfg.noise_model.t_read = float(t_read_s)
        for sub in (tile, getattr(tile, "tile", None)):
            io = getattr(sub, "_f_io", None)
            if io is not None:
                io.out_noise = float(out_noise)
