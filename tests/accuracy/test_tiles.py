"""FastInferenceTile: aihwkit's TorchInferenceTile results (values, gradients, drift read-out),
computed in fewer passes."""

from __future__ import annotations

import pytest


def _pair(n_in, n_out, out_bound=None, rows=32):
    """The same analog layer twice, aihwkit's tile and ours, programmed and drifted alike."""
    import torch
    from aihwkit.nn import AnalogLinear
    from aihwkit.simulator.tiles.inference_torch import TorchInferenceTile

    from codesign.accuracy.rpu import build_rpu_config
    from codesign.accuracy.settings import NoiseSettings
    from hw_models.specs import AimcTileSpec

    layers = []
    for fast in (False, True):
        cfg = build_rpu_config(AimcTileSpec(rows=rows, cols=rows), NoiseSettings())
        if not fast:
            cfg.tile_class = TorchInferenceTile
        if out_bound is not None:
            cfg.forward.out_bound = out_bound
        torch.manual_seed(0)
        layer = AnalogLinear.from_digital(torch.nn.Linear(n_in, n_out), cfg)
        for tile in layer.analog_tiles():
            tile.post_update_step()
        torch.manual_seed(5)
        for tile in layer.analog_tiles():
            tile.program_weights()
        torch.manual_seed(6)
        for tile in layer.analog_tiles():
            tile.drift_weights(86400.0)
        for p in layer.parameters():
            p.requires_grad_(False)
        layer.eval()
        layers.append(layer)
    return layers


def _input(n_in):
    import torch

    torch.manual_seed(1)
    x = torch.randn(3, 7, n_in)
    x[0, 0] = 0.0                                    # an all-zero row (noise management: scale 1)
    x[1, :, :4] = 3.0                                # aligned inputs: large outputs
    return x


# (in, out, out_bound): one tile; split over input tiles (partial sums) and over output tiles;
# output bound 1 and 0.3: iterative bound management re-runs with halved inputs, clamps
@pytest.mark.parametrize("n_in,n_out,out_bound", [(24, 20, None), (80, 20, None), (24, 70, None),
                                                  (24, 20, 1.0), (80, 20, 0.3)])
def test_forward_and_input_gradient_equal_aihwkit(n_in, n_out, out_bound):
    import torch

    from codesign.accuracy.tiles import FastInferenceTile

    ref, fast = _pair(n_in, n_out, out_bound)
    assert all(type(t) is FastInferenceTile for t in fast.analog_tiles())
    x0 = _input(n_in)
    with torch.no_grad():
        torch.manual_seed(3)
        y_ref = ref(x0)
        torch.manual_seed(3)
        y_fast = fast(x0)
    assert torch.equal(y_ref, y_fast)
    outs = []
    for layer in (ref, fast):
        x = x0.clone().requires_grad_(True)
        torch.manual_seed(3)
        y = layer(x)
        torch.manual_seed(4)
        (y * torch.randn_like(y)).sum().backward()
        outs.append((y.detach(), x.grad))
    assert torch.equal(outs[0][0], outs[1][0])
    assert torch.allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)
    assert float(outs[1][1].abs().max()) > 0
    # another draw of the output noise gives another result (the noise is there)
    with torch.no_grad():
        torch.manual_seed(8)
        assert not torch.equal(fast(x0), y_fast)


def test_gradient_uses_the_forward_weights_when_they_are_swapped_before_backward():
    """HaLoRA's clean pass swaps the reference weights and GDC factor in and out around its
    forward; the backward pass must see the ones the forward used, as aihwkit's graph does."""
    import torch

    grads = []
    for layer in _pair(24, 20):
        tile = next(layer.analog_tiles())
        saved_w, saved_alpha = tile.tile.weight.data.clone(), tile.alpha
        tile.tile.set_weights(tile.reference_combined_weights)
        tile.alpha = torch.ones_like(saved_alpha)
        x = _input(24).requires_grad_(True)
        torch.manual_seed(3)
        y = layer(x)
        tile.tile.set_weights(saved_w)
        tile.alpha = saved_alpha
        y.sum().backward()
        grads.append(x.grad)
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_drift_readout_and_compensation_equal_aihwkit():
    import torch

    ref, fast = _pair(80, 70)
    for t_ref, t_fast in zip(ref.analog_tiles(), fast.analog_tiles()):
        torch.manual_seed(9)
        r_ref = t_ref._forward_drift_readout_tensor()
        torch.manual_seed(9)
        r_fast = t_fast._forward_drift_readout_tensor()
        assert r_fast.shape == r_ref.shape and torch.equal(r_ref, r_fast)
        assert float(t_ref.alpha) == float(t_fast.alpha) != 1.0


def test_training_mode_and_trainable_weights_use_aihwkit_path():
    """Gaussian training (tiles in train mode: weight modifier) and full AHWA (weights that train)
    are aihwkit's own code; the result and the gradients reach the weights."""
    import torch

    ref, fast = _pair(24, 20)
    x = _input(24)
    for layer in (ref, fast):
        layer.train()
    torch.manual_seed(3)
    y_ref = ref(x)
    torch.manual_seed(3)
    y_fast = fast(x)
    assert torch.equal(y_ref.detach(), y_fast.detach())
    fast.eval()
    for p in fast.parameters():
        p.requires_grad_(True)
    fast(x).sum().backward()
    assert next(fast.analog_tiles()).tile.weight.grad is not None


def test_build_rpu_config_uses_the_fast_tile():
    from codesign.accuracy.rpu import build_rpu_config
    from codesign.accuracy.settings import NoiseSettings
    from codesign.accuracy.tiles import FastInferenceTile, supported
    from hw_models.specs import AimcTileSpec

    cfg = build_rpu_config(AimcTileSpec(), NoiseSettings())
    assert cfg.tile_class is FastInferenceTile
    assert supported(cfg.forward)
    cfg.forward.inp_noise = 0.01                    # not reproduced: aihwkit's own path
    assert not supported(cfg.forward)
