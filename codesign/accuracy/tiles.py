"""aihwkit's pure-PyTorch inference tile, with its eval-mode passes done in fewer passes over memory.

:class:`FastInferenceTile` is ``TorchInferenceTile`` (the rpu_config's ``tile_class``) with three
paths rewritten; each computes the same operations on the same values in the same order, with the
same random draws, as aihwkit's ``AnalogMVM`` (abs-max noise management, iterative bound
management, input / output quantisation, output noise), so the results are identical
(tests/accuracy/test_tiles.py compares them with aihwkit's):

- the forward pass of a tile in eval mode without autograd (drift evaluation): aihwkit clones its
  input three times and allocates a new tensor at every one of about 20 element-wise steps; here
  one buffer per pass is updated in place, and the output clamp is skipped when nothing is cut;
- the same forward pass when the gradient flows to the input only (adapter training under the PCM
  model: frozen tiles in eval mode), as one autograd function whose backward is the gradient
  aihwkit's graph gives (straight through quantisers and noise, zero where a clamp cut, through
  the noise-management scale);
- the global-drift-compensation read-out (every drift and every programming): aihwkit sends the
  identity matrix through the noisy MVM, a full matrix product that returns the weights; here it is
  the (quantised) one-hot input times the transposed weights, without the product.

Everything else (tiles in train mode, weights that train, input ranges, other noise and bound
options, other drift compensations) is aihwkit's own code.

Output-noise draws come from the calling thread's tile stream (:mod:`codesign.accuracy.rng`) or,
inside :func:`shared_output_noise`, from a :class:`NoiseTape` that hands passes over the same
inputs' shapes the same draws (the drift evaluation's common random numbers).
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Optional, Tuple

import torch
from aihwkit.inference.compensation.drift import GlobalDriftCompensation
from aihwkit.simulator.parameters.enums import BoundManagementType, NoiseManagementType
from aihwkit.simulator.tiles.inference_torch import TorchInferenceTile
from torch import Tensor

from codesign.accuracy.rng import randn_like


def _quantize_step(res: float, bound: float) -> float:
    """The step aihwkit's ``UniformQuantize`` rounds to: ``res`` (or 1 / ``res`` states) x 2 bound."""
    res = 1 / res if res > 1.0 else res
    return res * 2 * bound


def supported(io) -> bool:
    """Whether :func:`noisy_mvm` reproduces aihwkit's ``AnalogMVM.matmul`` for these forward
    parameters (one pass, abs-max noise management, no input noise or asymmetries, deterministic
    rounding, one output-noise level for every column)."""
    from aihwkit.simulator.parameters.enums import AnalogMVType

    return (not io.is_perfect and io.mv_type == AnalogMVType.ONE_PASS
            and io.noise_management == NoiseManagementType.ABS_MAX and io.nm_thres <= 0.0
            and io.bound_management in (BoundManagementType.ITERATIVE, BoundManagementType.NONE)
            and io.inp_noise <= 0.0 and io.inp_asymmetry == 0.0 and io.out_asymmetry == 0.0
            and not io.inp_sto_round and not io.out_sto_round and io.out_noise_std <= 0.0
            and io.out_scale == 1.0)


def noisy_mvm(weight: Tensor, x: Optional[Tensor], io, one_hot: bool = False,
              keep: Optional[dict] = None) -> Tensor:
    """aihwkit's noisy, IO-managed ``x @ weight.T`` (``AnalogMVM.matmul`` in test mode), in place.

    ``one_hot``: ``x`` is the identity matrix of the input size (the drift-compensation read-out):
    every row's abs-max is 1, so the quantised input is one number q on the diagonal and the
    product is q x ``weight.T``, computed without the matrix product. ``keep``: a dict that
    receives what :class:`_TileForward` needs for the gradient (last bound-management round)."""
    if one_hot:
        nm = torch.ones((1, 1), dtype=weight.dtype, device=weight.device)
    else:
        if keep is None:                              # the abs-max alone, no indices
            nm, argmax = x.abs().amax(dim=-1, keepdim=True), None
        else:
            nm, argmax = x.abs().max(dim=-1, keepdim=True)
        if io.inp_noise <= 0.0 and bool((nm == 0.0).all()):
            return x.new_zeros(x.shape[:-1] + (weight.shape[0],))
        zero_rows = nm <= 0.0
        nm[zero_rows] = 1.0
        if keep is not None:
            keep.update(nm=nm, argmax=argmax, zero_rows=zero_rows)
    b_management = io.bound_management != BoundManagementType.NONE
    inp_step = _quantize_step(io.inp_res, io.inp_bound) if io.inp_res > 0 else 0.0
    out_step = _quantize_step(io.out_res, io.out_bound) if io.out_res > 0 else 0.0
    inp_bound = io.inp_bound if io.inp_bound > 0 else float("inf")
    out_bound = io.out_bound if io.out_bound > 0 else float("inf")
    bm_res = io.inp_res
    if bm_res > 0:
        bm_res = (1 / bm_res if bm_res > 1.0 else bm_res) * 2.0 * io.inp_bound
    reduction = 0.5
    passed = False
    rounds = -1
    while not passed:
        reduction *= 2.0
        rounds += 1
        scale = 1.0
        scale /= nm                                   # a new tensor: 1 / abs-max, as aihwkit
        if b_management:
            scale /= reduction
        prepared = (torch.ones_like(nm) if one_hot else x) * scale
        if inp_step > 0:
            prepared.div_(inp_step).round_().mul_(inp_step)
        if keep is not None:
            keep["in_mask"] = _inside_mask(prepared, inp_bound)
        prepared.clamp_(-inp_bound, inp_bound)
        if one_hot:
            out = torch.empty((weight.shape[1], weight.shape[0]), dtype=weight.dtype,
                              device=weight.device)
            torch.mul(weight.t(), prepared, out=out)
        else:
            out = prepared @ weight.T
        if io.out_noise > 0.0:
            out += _output_noise(out, io.out_noise, one_hot, rounds)
        if out_step > 0:
            out.div_(out_step).round_().mul_(out_step)
        mask = _inside_mask(out, out_bound)
        if mask is not None:
            out.clamp_(-out_bound, out_bound)
        passed = (mask is None or not b_management or reduction > io.max_bm_factor
                  or (bm_res > 0.0 and reduction > io.max_bm_res / bm_res))
    if keep is not None:
        keep.update(scale=scale, reduction=reduction if b_management else 1.0, out_mask=mask,
                    before_rescale=out.clone())
    out *= 1.0 / scale
    return out


class NoiseTape:
    """Output-noise draws shared by passes over inputs of the same shapes (common random numbers,
    :func:`shared_output_noise`): the k-th noisy MVM of a pass (and each of its bound-management
    rounds) takes the draw stored for that MVM and round, drawing and storing it the first time
    or when the shape differs. :meth:`rewind` starts the next pass."""

    def __init__(self):
        self.draws: dict[tuple[int, int], tuple[Tensor, float]] = {}
        self.call = -1

    def noise(self, out: Tensor, std: float, round_: int = 0) -> Tensor:
        if round_ == 0:
            self.call += 1
        key = (self.call, round_)
        entry = self.draws.get(key)
        if entry is None or entry[0].shape != out.shape:
            noise = torch.randn_like(out).mul_(std)
            self.draws[key] = (noise, std)
            return noise
        noise, recorded = entry
        return noise if recorded == std else noise * (std / recorded)

    def rewind(self) -> None:
        self.call = -1


_TAPE: ContextVar[Optional[NoiseTape]] = ContextVar("codesign_noise_tape", default=None)


@contextlib.contextmanager
def shared_output_noise(tape: NoiseTape):
    """Within: tiles' output noise of MVMs (not drift read-outs) is taken from ``tape``."""
    token = _TAPE.set(tape)
    try:
        yield tape
    finally:
        _TAPE.reset(token)


def _output_noise(out: Tensor, std: float, one_hot: bool, round_: int) -> Tensor:
    tape = None if one_hot else _TAPE.get()
    if tape is None:
        return randn_like(out).mul_(std)
    return tape.noise(out, std, round_)


def _inside_mask(values: Tensor, bound: float) -> Optional[Tensor]:
    """None when every value is within [-bound, bound] (one pass), else the inside mask (as the
    gradient of ``clamp`` sees it: bounds included)."""
    low, high = torch.aminmax(values)
    if bool(high <= bound) and bool(low >= -bound):
        return None
    return (values >= -bound) & (values <= bound)


class _TileForward(torch.autograd.Function):
    """The tile's forward pass (:func:`noisy_mvm` + periphery) with the gradient aihwkit's
    autograd graph gives for the input: straight through the quantisers and the noise, zero where
    a clamp cut, and through the abs-max noise-management scale (its two uses: the input scaling
    and the output rescaling). Weights, output scales and bias are frozen on this path."""

    @staticmethod
    def forward(ctx, x: Tensor, tile: "FastInferenceTile") -> Tensor:
        keep: dict = {}
        out = noisy_mvm(tile.tile.weight, x, tile.rpu_config.forward, keep=keep)
        if not keep:                                  # all-zero input: aihwkit's constant zeros
            ctx.zero = True
            return tile._periphery(out)
        ctx.zero = False
        # the tensors as they are now: a caller may swap the tile's weights or GDC factor before
        # the backward pass (HaLoRA's clean pass), as aihwkit's graph keeps the forward's
        view = tile.get_tensor_view(out.dim())
        mapping, scales = tile.get_mapping_scales(), tile.out_scaling_alpha
        gdc = getattr(tile.rpu_config, "drift_compensation", None) is not None
        ctx.factors = [f for f in (None if scales is None else scales.detach().view(*view),
                                   tile.alpha.detach() if gdc else None,
                                   None if mapping is None else mapping.detach().view(view))
                       if f is not None]
        ctx.keep, ctx.weight = keep, tile.tile.weight.detach()
        ctx.save_for_backward(x)
        return tile._periphery(out)

    @staticmethod
    def backward(ctx, grad: Tensor):
        if ctx.zero:
            return None, None
        (x,) = ctx.saved_tensors
        keep = ctx.keep
        # periphery, in the reverse order of aihwkit's products: out scales, GDC, mapping scales
        for factor in ctx.factors:
            grad = grad * factor
        scale = keep["scale"]
        rescale = 1.0 / scale                         # out *= 1 / scale
        g_rescale = (grad * keep["before_rescale"]).sum(-1, keepdim=True)
        grad = grad * rescale
        if keep["out_mask"] is not None:
            grad = grad * keep["out_mask"]
        grad = grad @ ctx.weight                      # straight through quantiser and noise
        if keep["in_mask"] is not None:
            grad = grad * keep["in_mask"]
        g_scale = (grad * x).sum(-1, keepdim=True) + g_rescale * -(rescale * rescale)
        grad_x = grad * scale
        inv_nm = keep["nm"].reciprocal()
        g_nm = (g_scale / keep["reduction"]) * -(inv_nm * inv_nm)
        g_nm = g_nm.masked_fill(keep["zero_rows"], 0.0)
        argmax = keep["argmax"]
        grad_x.scatter_add_(-1, argmax, g_nm * x.gather(-1, argmax).sgn())
        return grad_x, None


class FastInferenceTile(TorchInferenceTile):
    """``TorchInferenceTile`` whose eval-mode forward pass (with or without the input's gradient)
    and drift-compensation read-out run :func:`noisy_mvm` (same results, fewer passes); anything
    else is aihwkit's."""

    def _fast_ok(self) -> bool:
        return (not self.training and not self.analog_bias and not self.in_trans
                and not self.out_trans and self.input_range is None
                and not hasattr(self.rpu_config.pre_post, "periph_quant")
                and self.tile.out_noise_values is None and supported(self.rpu_config.forward))

    def _periphery(self, out: Tensor) -> Tensor:
        """In place, aihwkit's order: mapping scales, GDC factor, learned output scales, bias."""
        view = self.get_tensor_view(out.dim())
        mapping = self.get_mapping_scales()
        if mapping is not None:
            out *= mapping.view(view)
        if getattr(self.rpu_config, "drift_compensation", None) is not None:
            out *= self.alpha
        if self.out_scaling_alpha is not None:
            out *= self.out_scaling_alpha.view(*view)
        if self.digital_bias:
            out += self.bias.view(*view)
        return out

    def forward(self, x_input: Tensor, tensor_view: Optional[Tuple] = None) -> Tensor:
        if tensor_view is not None or not self._fast_ok():
            return super().forward(x_input, tensor_view)
        self.tile.set_config(self.rpu_config)
        if torch.is_grad_enabled():
            if any(p.requires_grad for p in self.parameters()):
                return super().forward(x_input, tensor_view)
            if x_input.requires_grad:
                return _TileForward.apply(x_input, self)
        with torch.no_grad():
            return self._periphery(noisy_mvm(self.tile.weight, x_input, self.rpu_config.forward))

    def _fast_readout(self, exact_reference: bool = False) -> bool:
        dc = getattr(self.rpu_config, "drift_compensation", None)
        return (dc is not None and not exact_reference and not self.in_trans
                and not self.out_trans
                and type(dc).get_readout_tensor is GlobalDriftCompensation.get_readout_tensor
                and self.tile.out_noise_values is None and supported(self.rpu_config.forward))

    def tile_streams(self) -> bool:
        """Whether programming, drift and read-out draw only from :func:`rng.randn_like`, so
        that :func:`codesign.accuracy.rng.for_each_tile` may run tiles in parallel."""
        dc = getattr(self.rpu_config, "drift_compensation", None)
        model = getattr(self.rpu_config, "noise_model", None)
        return ((dc is None or self._fast_readout()) and hasattr(model, "tile_streams")
                and model.tile_streams())

    @torch.no_grad()
    def _forward_drift_readout_tensor(self, reset_if: bool = False,
                                      exact_reference: bool = False) -> Optional[Tensor]:
        if not self._fast_readout(exact_reference):
            return super()._forward_drift_readout_tensor(reset_if, exact_reference)
        self.tile.set_config(self.rpu_config)
        return noisy_mvm(self.tile.weight, None, self.rpu_config.forward, one_hot=True)
