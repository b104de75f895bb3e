"""benchmarks/sensitivity.py: assumptions moved between their bounds, the quickstart's front and
pick recomputed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import hw_models as H
from hw_models import aimc

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "sensitivity.py"
_SPEC = importlib.util.spec_from_file_location("sensitivity_benchmark", _PATH)
sens = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sens)


def test_every_assumption_path_moves_a_real_field():
    hw = H.HardwareSpec()
    for name, path, low, high, why in sens.ASSUMPTIONS:
        assert low != high and why, name
        assert any(sens._set(hw, path, v) != hw for v in (low, high)), name


def test_split_share_moved_keeps_hermes_at_its_measured_energy():
    hw = H.HardwareSpec(aimc=H.AimcTileSpec.hermes())
    for share in ("window", "conversion", "digital"):
        for value in (0.1, 0.6, 0.9):
            tile = sens._set(hw, f"split.{share}", value).aimc
            assert aimc.mvm_energy_pj(tile) == pytest.approx(2 * 256 * 256 / 9.76, rel=1e-9)


def test_front_and_pick_by_hand():
    m = {(1,): {"latency_us": 1.0, "energy_uj": 3.0, "fits": True, "accuracy": 0.90},
         (2,): {"latency_us": 2.0, "energy_uj": 2.0, "fits": True, "accuracy": 0.85},
         (3,): {"latency_us": 3.0, "energy_uj": 3.0, "fits": True, "accuracy": 0.85},  # dominated
         (4,): {"latency_us": 0.5, "energy_uj": 0.5, "fits": False, "accuracy": 0.99}}  # no fit
    assert sens.front(m) == [(1,), (2,)]
    assert sens.pick(m, [(1,), (2,)]) == (1,)           # the only one with accuracy >= 0.88
    m[(1,)]["accuracy"] = 0.5
    assert sens.pick(m, sens.front(m)) is None
