"""aihwkit's PCM noise model with the drift step computed on one conductance per weight.

:class:`PCMLikeNoiseModel` (Nandakumar et al. 2019; Joshi et al. 2020) drifts a programmed weight
by converting it to a conductance pair (g+, g-) with ``SinglePairConductanceConverter``, applying
drift (g (t/t0)^-nu) and accumulated 1/f read noise to both, and converting back. With g_min = 0
(aihwkit's default) one of the pair is exactly 0 after that conversion, and drift and read noise
leave a zero conductance at zero, so the result is that of the one non-zero conductance with its
drift exponent, signed. :class:`PairDriftPCM` computes exactly that, and keeps what depends only on
the programmed weights (the weight, its drift exponent and its 1/f noise amplitude) from one
drift time to the next, recomputing them when the tile is programmed again. Programming draws
the drift exponent of the one device each weight will drift with (aihwkit draws both and the
drift step uses one). The formulas are aihwkit's; the draws come from other streams (one
Gaussian per weight for read noise instead of one per device of the pair, and each tile's own
generator, :mod:`codesign.accuracy.rng`). Tests compare the laws with aihwkit's
(tests/accuracy/test_pcm.py). Other converters, or g_min > 0, fall back to aihwkit's own
implementation.
"""

from __future__ import annotations

import math
import weakref

from aihwkit.inference import PCMLikeNoiseModel
from aihwkit.inference.converter.conductance import SinglePairConductanceConverter
from aihwkit.inference.noise.pcm import _ZERO_CLIP
from torch import Tensor, no_grad

from codesign.accuracy.rng import randn_like


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
        """(the programmed weights as aihwkit's conversion sees them: signed conductance / scale,
        the drift exponent of the device each weight drifts with, its 1/f amplitude q_s)."""
        import torch

        (g_pos, g_neg), params = self.g_converter.convert_to_conductances(weights)
        g = g_pos + g_neg                              # g_min = 0: one of the pair is 0
        nu_one = nu[0] if nu[0] is nu[1] else torch.where(g_neg == 0, nu[0], nu[1])
        q_s = (0.0088 / ((g / self.g_max) ** 0.65).clamp(min=1e-3)).clamp(max=0.2)
        return (g_pos - g_neg).div_(params["scale_ratio"]), nu_one, q_s

    @no_grad()
    def apply_programming_noise_to_conductance(self, g_target: Tensor) -> Tensor:
        """aihwkit's (Gaussian noise, sigma a 2nd-degree polynomial of g), drawing from the
        tile's stream (:mod:`codesign.accuracy.rng`)."""
        mat = 1
        sig_prog = self.prog_coeff[0]
        for coeff in self.prog_coeff[1:]:
            mat *= g_target / self.g_max
            sig_prog += mat * coeff
        sig_prog *= self.g_max / self.prog_coeff_g_max_reference
        g_prog = g_target + self.prog_noise_scale * sig_prog * randn_like(g_target)
        return g_prog.clamp_(min=0.0)

    @no_grad()
    def generate_drift_coefficients(self, g_target: Tensor) -> Tensor:
        """aihwkit's (nu ~ |N(mu(g), sigma(g))| from the PCM measurements), drawing from the
        tile's stream."""
        import torch

        g_relative = torch.clamp(torch.abs(g_target / self.g_max), min=_ZERO_CLIP)
        log_g = torch.log(g_relative)
        mu_drift = (-0.0155 * log_g + 0.0244).clamp(min=0.049, max=0.1)
        sig_drift = (-0.0125 * log_g - 0.0059).clamp(min=0.008, max=0.045)
        nu_drift = torch.abs(mu_drift + sig_drift * randn_like(g_relative)).clamp(min=0.0)
        return nu_drift * self.drift_scale

    def tile_streams(self) -> bool:
        """Whether every draw of programming and drift comes from :func:`rng.randn_like`."""
        return self._fast()

    @no_grad()
    def apply_programming_noise(self, weights: Tensor) -> tuple[Tensor, list]:
        """aihwkit's programming (conductance pair, Gaussian programming noise on both devices,
        drift exponents), drawing only the drift exponent that drifting will use.

        aihwkit draws an exponent for both devices of a pair; the drift step
        (:meth:`_prepare`, as aihwkit's re-conversion) uses the one of the device on the side
        of the programmed weight's sign: the device with the target conductance, or, where
        programming noise flipped the sign, the one targeted at 0. That one exponent is drawn
        here from its target's distribution and returned for both devices, so every later
        step (this class's or aihwkit's own drift) sees the same law as aihwkit's: 3 normal
        draws per weight instead of 4, and fewer passes."""
        import torch

        if not self._fast():
            return super().apply_programming_noise(weights)
        (g_pos, g_neg), params = self.g_converter.convert_to_conductances(weights)
        programmed = (self.apply_programming_noise_to_conductance(g_pos)
                      .sub_(self.apply_programming_noise_to_conductance(g_neg)))
        # target of the device drifting: g_pos + g_neg (one is 0) unless programming flipped the
        # sign, then 0 (sign arithmetic: a bool-mask torch.where is 10x slower on this CPU)
        used = (g_pos + g_neg).mul_(torch.mul(programmed, weights).sign_().clamp_(min=0.0))
        nu = self.generate_drift_coefficients(used)
        return programmed.div_(params["scale_ratio"]), [nu, nu]

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
        w, nu, q_s = entry[2]
        # aihwkit's g (t/t0)^-nu + |g_d| q_s sig randn, clamped at 0, signed and scaled back, as
        # w (t/t0)^-nu max(0, 1 + q_s sig randn) (g_d = g (t/t0)^-nu >= 0): fewer passes
        t = t_inference + self.t_0
        if t > 0:
            sig = self.read_noise_scale * math.sqrt(
                math.log((t + self.t_read) / (2 * self.t_read)))
            out = randn_like(q_s)
            torch.addcmul(torch.ones((), dtype=out.dtype, device=out.device), out, q_s,
                          value=sig, out=out)
            out.clamp_(min=0.0)
        else:
            out = torch.ones_like(q_s)
        if t > self.t_0:
            out.mul_(torch.mul(nu, -math.log(t / self.t_0)).exp_())
        return out.mul_(w)
