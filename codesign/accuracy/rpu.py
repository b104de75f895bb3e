"""The aihwkit rpu_config built from hardware knobs (pure-PyTorch tiles only).

Authors' settings (docs/reference/paper.md section 3): digital bias; weight scaling omega 1.0,
column-wise; learned column-wise output scaling; ADD_NORMAL training modifier; CHANNELWISE_SYMMETRIC
remap; forward out_noise; LAYER_GAUSSIAN clip at 3 sigma; inp_res / out_res = 1 / (2^bits - 2);
PCMLikeNoiseModel(g_max) (as :class:`codesign.accuracy.pcm.PairDriftPCM`: the same model, a
faster drift step); GlobalDriftCompensation; tiles
:class:`codesign.accuracy.tiles.FastInferenceTile` (aihwkit's ``TorchInferenceTile`` with the same
results in fewer passes). Tile size = AimcTileSpec rows x cols (mapping.max_input_size /
max_output_size: a larger layer is split over several tiles whose partial sums are added
digitally).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from hw_models.specs import AimcTileSpec

    from codesign.accuracy.settings import NoiseSettings


def resolution(bits: int) -> float:
    """Quantisation step of a signed converter with ``bits`` bits: 1 / (2^bits - 2)."""
    return 1.0 / (2 ** int(bits) - 2) if bits > 1 else 1.0


#: aihwkit PCMLikeNoiseModel's read time of its 1/f noise fit (t_read default), s
AIHWKIT_T_READ_S = 250e-9


def integration_noise(integration_ns: float, noise: "NoiseSettings") -> tuple[float, float]:
    """(output noise std as a fraction of the output range, PCM read time in s) of a tile that
    integrates for ``integration_ns`` (``NoiseSettings.integration_coupling`` documents the
    relation). Pure; without coupling: (out_noise, aihwkit's 250 ns)."""
    if not noise.integration_coupling:
        return float(noise.out_noise), AIHWKIT_T_READ_S
    t = float(integration_ns)
    return (float(noise.out_noise) * (float(noise.reference_integration_ns) / t) ** 0.5,
            t * 1e-9)


def train_integration_ns(integration_ns: float, noise: "NoiseSettings") -> float | None:
    """The integration time whose noise the adapters train under (``noise.train_integration``);
    None without coupling (the noise does not depend on it)."""
    if not noise.integration_coupling:
        return None
    ref = float(noise.reference_integration_ns)
    if noise.train_integration == "reference":
        return ref
    if noise.train_integration == "noisier":
        return min(float(integration_ns), ref)
    return float(integration_ns)


def build_rpu_config(aimc: "AimcTileSpec", noise: "NoiseSettings", *,
                     gaussian_training: bool = True, integration_ns: float | None = None):
    """A ``TorchInferenceRPUConfig`` for these hardware knobs.

    ``gaussian_training`` switches the per-mini-batch additive Gaussian weight modifier on (the
    paper's training noise, active only while a tile is in train mode). Output and read noise
    follow :func:`integration_noise` at ``integration_ns`` (default: ``aimc.integration_ns``).
    """
    from aihwkit.inference import GlobalDriftCompensation
    from aihwkit.simulator.configs import TorchInferenceRPUConfig
    from aihwkit.simulator.parameters.enums import (WeightClipType, WeightModifierType,
                                                    WeightRemapType)

    from codesign.accuracy.pcm import PairDriftPCM
    from codesign.accuracy.tiles import FastInferenceTile

    cfg = TorchInferenceRPUConfig()
    cfg.tile_class = FastInferenceTile
    cfg.mapping.digital_bias = True
    cfg.mapping.weight_scaling_omega = 1.0
    cfg.mapping.weight_scaling_columnwise = True
    cfg.mapping.learn_out_scaling = True
    cfg.mapping.out_scaling_columnwise = True
    cfg.mapping.max_input_size = int(aimc.rows)
    cfg.mapping.max_output_size = int(aimc.cols)
    if gaussian_training and noise.weight_noise > 0:
        cfg.modifier.type = WeightModifierType.ADD_NORMAL
        cfg.modifier.std_dev = float(noise.weight_noise)
    else:
        cfg.modifier.type = WeightModifierType.NONE
    cfg.remap.type = WeightRemapType.CHANNELWISE_SYMMETRIC
    if noise.clip_sigma > 0:
        cfg.clip.type = WeightClipType.LAYER_GAUSSIAN
        cfg.clip.sigma = float(noise.clip_sigma)
    else:
        cfg.clip.type = WeightClipType.NONE
    out_noise, t_read = integration_noise(
        aimc.integration_ns if integration_ns is None else integration_ns, noise)
    cfg.forward.out_noise = out_noise
    cfg.forward.inp_res = resolution(aimc.dac_bits)
    cfg.forward.out_res = resolution(aimc.adc_bits)
    cfg.noise_model = PairDriftPCM(g_max=float(noise.g_max_us), t_read=t_read)
    cfg.drift_compensation = GlobalDriftCompensation() if noise.drift_compensation else None
    return cfg
