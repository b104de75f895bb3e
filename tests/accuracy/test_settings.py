import subprocess
import sys

import pytest

from codesign.accuracy import (DRIFT_LABELS, AccuracyResult, AccuracySettings, WorkloadSpec,
                               drift_seconds, with_overrides)
from hw_models import SpecError


def test_import_does_not_import_torch():
    code = ("import sys, codesign.accuracy, codesign.accuracy.settings; "
            "heavy = [m for m in ('torch', 'aihwkit', 'transformers', 'peft') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_defaults_are_the_papers():
    s = AccuracySettings()
    assert s.noise.weight_noise == 0.067 and s.noise.out_noise == 0.04
    assert s.noise.clip_sigma == 3.0 and s.noise.g_max_us == 25.0
    assert s.training.lr == 1e-3  # paper 2e-4; chosen by measurement for short budgets
    assert s.evaluation.drift_times == DRIFT_LABELS
    assert WorkloadSpec().name == "minilm-fidelity"


@pytest.mark.parametrize("label,seconds", [("0s", 0), ("1h", 3600), ("1d", 86400),
                                           ("1w", 604800), ("10y", 10 * 365.25 * 86400),
                                           ("1mo", 30.4375 * 86400)])
def test_drift_labels(label, seconds):
    assert drift_seconds(label) == pytest.approx(seconds)


def test_bad_values_name_the_field():
    with pytest.raises(SpecError, match=r"evaluation.drift_times\[1\]"):
        with_overrides(AccuracySettings(), **{"evaluation.drift_times": ("0s", "tomorrow")})
    with pytest.raises(SpecError, match="noise.train_noise_model"):
        with_overrides(AccuracySettings(), **{"noise.train_noise_model": "thermal"})
    with pytest.raises(SpecError, match="training.steps"):
        with_overrides(AccuracySettings(), **{"training.steps": 0})


def test_result_dict_has_contract_keys_first():
    d = AccuracyResult(metric="m").to_dict()
    assert list(d)[:6] == ["digital", "analog_before", "analog_after", "trainable_params",
                           "total_params", "metric"]
    assert d["status"] == "ok" and d["cache_hit"] is False
