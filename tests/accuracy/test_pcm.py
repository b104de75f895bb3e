"""PairDriftPCM: aihwkit's PCM drift and read noise, computed on one conductance per weight."""

from __future__ import annotations

import pytest


def _programmed(model, seed=1):
    import torch

    torch.manual_seed(0)
    w = torch.randn(256, 96) * 0.05
    torch.manual_seed(seed)
    return model.apply_programming_noise(w)


@pytest.mark.parametrize("t", [0.0, 3600.0, 86400.0, 3.15e7])
def test_drift_equals_aihwkit_without_read_noise(t):
    import torch
    from aihwkit.inference import PCMLikeNoiseModel

    from codesign.accuracy.pcm import PairDriftPCM

    ref = PCMLikeNoiseModel(g_max=25.0, read_noise_scale=0.0)
    fast = PairDriftPCM(g_max=25.0, read_noise_scale=0.0)
    wp, nu = _programmed(ref)
    assert torch.allclose(fast.apply_drift_noise(wp, nu, t), ref.apply_drift_noise(wp, nu, t),
                          atol=1e-6)


def test_read_noise_has_aihwkit_spread_and_reprogramming_is_seen():
    import torch
    from aihwkit.inference import PCMLikeNoiseModel

    from codesign.accuracy.pcm import PairDriftPCM

    ref, fast = PCMLikeNoiseModel(g_max=25.0), PairDriftPCM(g_max=25.0)
    wp, nu = _programmed(ref)
    a = torch.stack([ref.apply_drift_noise(wp, nu, 86400.0) for _ in range(30)])
    b = torch.stack([fast.apply_drift_noise(wp, nu, 86400.0) for _ in range(30)])
    assert float(b.std(0).mean() / a.std(0).mean()) == pytest.approx(1.0, abs=0.05)
    assert float((a.mean(0) - b.mean(0)).abs().mean()) < 0.1 * float(a.std(0).mean()) + 1e-3
    # a new programming (new tensors) is not served from the previous one's prepared values
    wp2, nu2 = _programmed(ref, seed=2)
    quiet = PairDriftPCM(g_max=25.0, read_noise_scale=0.0)
    quiet.apply_drift_noise(wp, nu, 86400.0)
    assert torch.allclose(quiet.apply_drift_noise(wp2, nu2, 86400.0),
                          PCMLikeNoiseModel(g_max=25.0, read_noise_scale=0.0)
                          .apply_drift_noise(wp2, nu2, 86400.0), atol=1e-6)


def test_other_converters_use_aihwkit_own_drift():
    import torch
    from aihwkit.inference.converter.conductance import SinglePairConductanceConverter

    from codesign.accuracy.pcm import PairDriftPCM
    from aihwkit.inference import PCMLikeNoiseModel

    conv = SinglePairConductanceConverter(g_max=25.0, g_min=2.0)
    fast = PairDriftPCM(g_converter=conv, read_noise_scale=0.0)
    ref = PCMLikeNoiseModel(g_converter=conv, read_noise_scale=0.0)
    assert not fast._fast()
    wp, nu = _programmed(ref)
    assert torch.allclose(fast.apply_drift_noise(wp, nu, 86400.0),
                          ref.apply_drift_noise(wp, nu, 86400.0))


def test_programming_has_aihwkit_law_and_one_exponent_per_weight():
    """Programmed weights and the drift exponent each weight drifts with: the moments of
    aihwkit's PCMLikeNoiseModel over many programmings, per weight-magnitude group, including the
    sign flips of small weights; the exponent is returned for both devices, so aihwkit's own
    drift step gives the same drifted weights as PairDriftPCM's."""
    import torch
    from aihwkit.inference import PCMLikeNoiseModel

    from codesign.accuracy.pcm import PairDriftPCM

    torch.manual_seed(0)
    w = torch.randn(128, 64) * 0.05
    small = w.abs() < 0.01

    def stats(model):
        err, nus, flips = [], [], []
        for s in range(40):
            torch.manual_seed(100 + s)
            wp, nu = model.apply_programming_noise(w)
            err.append(wp - w)
            nus.append(torch.where(wp >= 0, nu[0], nu[1]))
            flips.append((torch.sign(wp) != torch.sign(w)) & small)
        e, n, f = torch.stack(err), torch.stack(nus), torch.stack(flips)
        return (float(e.std()), float(e.mean()), float(n.mean()), float(n.std()),
                float(n[:, small].mean()), float(f.float().mean()), float(n[f].mean()))

    ref, fast = stats(PCMLikeNoiseModel(g_max=25.0)), stats(PairDriftPCM(g_max=25.0))
    for a, b in zip(ref[:-1], fast[:-1]):
        assert b == pytest.approx(a, rel=0.05, abs=2e-4)
    # a flipped weight drifts with the exponent of the device targeted at 0 (~|N(0.1, 0.045)|),
    # not its target's: ~8000 flips, standard error ~0.5 %
    assert fast[-1] == pytest.approx(ref[-1], rel=0.02)
    quiet = PairDriftPCM(g_max=25.0, read_noise_scale=0.0)
    torch.manual_seed(1)
    wp, nu = quiet.apply_programming_noise(w)
    assert nu[0] is nu[1]
    assert torch.allclose(quiet.apply_drift_noise(wp, nu, 86400.0),
                          PCMLikeNoiseModel(g_max=25.0, read_noise_scale=0.0)
                          .apply_drift_noise(wp, nu, 86400.0), atol=1e-6)
