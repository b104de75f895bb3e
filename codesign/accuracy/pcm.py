"""aihwkit's PCM noise model with the drift step computed on one conductance per weight.

:class:`PCMLikeNoiseModel` (Nandakumar et al. 2019; Joshi et al. 2020) drifts a programmed weight
by converting it to a conductance pair (g+, g-) with ``SinglePairConductanceConverter``, applying
drift (g (t/t0)^-nu) and accumulated 1/f read noise to both, and converting back. With g_min = 0
(aihwkit's default) one of the pair is exactly 0 after that conversion, and drift and read noise
leave a zero conductance at zero, so the result is that of the one non-zero conductance with its
drift exponent, signed. :class:`PairDriftPCM` computes exactly that, and keeps what depends only on
the programmed weights (the conductance, its drift exponent and its 1/f noise amplitude) from one
drift time to the next, recomputing them when the tile is programmed again. The formulas are
aihwkit's; only the read-noise draws come from another stream (one Gaussian per weight instead of
one per device of the pair). Half the values and no conversion per drift time: in isolation the
drift step of a 1536 x 1152 weight is about 3x faster on one CPU thread; over a whole default
evaluation the gain is within run-to-run noise (README, Speed). Other converters, or g_min > 0,
fall back to aihwkit's own implementation.
"""

from __future__ import annotations

import math
import weakref

from aihwkit.inference import PCMLikeNoiseModel
from aihwkit.inference.converter.conductance import SinglePairConductanceConverter
from torch import Tensor, no_grad


class PairDriftPCM(PCMLikeNoiseModel):
    """``PCMLikeNoiseModel`` with the drift step on the non-zero conductance of each pair."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepared: dict[int, tuple] = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_prepared", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._prepared = {}

    def __deepcopy__(self, memo):
        import copy

        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new

    def _fast(self) -> bool:
        conv = self.g_converter
        return type(conv) is SinglePairConductanceConverter and float(conv.g_min) == 0.0

    def _prepare(self, weights: Tensor, nu: list) -> tuple:
        """(signed conductance, its drift exponent, its 1/f amplitude q_s, scale) of programmed
        weights, as aihwkit's conversion gives them."""
        import torch

        conv = self.g_converter
        scale = (conv.g_max - conv.g_min) / weights.abs().max().clamp(min=1e-7)
        g_signed = weights * scale
        g = g_signed.abs().clamp(max=conv.g_max)
        nu_one = torch.where(g_signed >= 0, nu[0], nu[1])
        q_s = (0.0088 / ((g / self.g_max) ** 0.65).clamp(min=1e-3)).clamp(max=0.2)
        return torch.sign(g_signed), g, nu_one, q_s, scale

    @no_grad()
    def apply_drift_noise(self, weights: Tensor, drift_noise_parameters, t_inference: float
                          ) -> Tensor:
        import torch

        if not self._fast():
            return super().apply_drift_noise(weights, drift_noise_parameters, t_inference)
        # one entry per programmed-weights tensor (a tile's programming), dropped with it
        entry = self._prepared.get(id(weights))
        if entry is None or entry[0]() is not weights or entry[1] is not drift_noise_parameters[0]:
            prepared = self._prepare(weights, drift_noise_parameters)
            table, key = self._prepared, id(weights)
            entry = (weakref.ref(weights, lambda _, t=table, k=key: t.pop(k, None)),
                     drift_noise_parameters[0], prepared)
            self._prepared[key] = entry
        sign, g, nu, q_s, scale = entry[2]
        # in place, the same products in the same order as g (t/t0)^-nu + |g_d| q_s sig randn,
        # clamped at 0, signed, scaled back (g >= 0, so |g_d| = g_d)
        t = t_inference + self.t_0
        if t > self.t_0:
            g_drift = nu * -math.log(t / self.t_0)
            g_drift.exp_()
            g_drift.mul_(g)
        else:
            g_drift = g.clone()
        if t > 0:
            sig = self.read_noise_scale * math.sqrt(
                math.log((t + self.t_read) / (2 * self.t_read)))
            spread = q_s * sig
            spread.mul_(g_drift)
            noise = torch.randn_like(g)
            noise.mul_(spread)
            g_drift.add_(noise)
        g_drift.clamp_(min=0.0)
        g_drift.mul_(sign)
        return g_drift.div_(scale)
