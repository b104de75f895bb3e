"""Integration time -> tile noise: the relation, its switch, the tiles it reaches, the accuracy it
moves and the cache entries it keys."""

from __future__ import annotations

import pytest

from codesign.accuracy import AccuracySettings, evaluate_accuracy, with_overrides
from codesign.accuracy.cache import result_key, train_key
from codesign.accuracy.rpu import AIHWKIT_T_READ_S, build_rpu_config, integration_noise
from codesign.accuracy.settings import NoiseSettings
from hw_models.specs import AimcTileSpec, LoraSpec


def test_output_noise_falls_as_inverse_sqrt_of_integration_time_read_time_follows():
    noise = NoiseSettings()
    assert integration_noise(256.0, noise) == pytest.approx((0.04, 256e-9))
    assert integration_noise(64.0, noise)[0] == pytest.approx(0.08)
    assert integration_noise(1024.0, noise)[0] == pytest.approx(0.02)
    off = NoiseSettings(integration_coupling=False)
    assert integration_noise(64.0, off) == (0.04, AIHWKIT_T_READ_S)
    assert integration_noise(1024.0, off) == (0.04, AIHWKIT_T_READ_S)
    cfg = build_rpu_config(AimcTileSpec(integration_ns=128), noise)
    assert cfg.forward.out_noise == pytest.approx(0.04 * 2 ** 0.5)
    assert cfg.noise_model.t_read == pytest.approx(128e-9)


def test_shorter_integration_more_noise_lower_accuracy_before_training(
        tiny_workload, small_settings, tmp_path):
    # the tiny random model's embedding barely moves under 4 % output noise: 30 % at 256 ns
    s = with_overrides(small_settings, **{"training.steps": 1, "evaluation.drift_times": ("1d",),
                                          "evaluation.n_draws": 3, "noise.out_noise": 0.3})
    before = {}
    for t_int in (32.0, 256.0, 2048.0):
        r = evaluate_accuracy(tiny_workload, AimcTileSpec(integration_ns=t_int), LoraSpec(rank=2),
                              s, tmp_path, progress=False)
        before[t_int] = r.analog_before["1d"]["mean"]
    assert before[32.0] < before[256.0] < before[2048.0]
    # the switch: without coupling the integration time does not move accuracy
    off = with_overrides(s, **{"noise.integration_coupling": False})
    flat = [evaluate_accuracy(tiny_workload, AimcTileSpec(integration_ns=t), LoraSpec(rank=2), off,
                              tmp_path, progress=False).analog_before["1d"]["mean"]
            for t in (32.0, 2048.0)]
    assert flat[0] == flat[1]


def test_cache_keys_what_retrains_and_what_does_not(tiny_workload):
    lora = LoraSpec(rank=2)
    default = AccuracySettings(device="cpu")
    # default 'noisier': integration times at or above the reference (256 ns) share the
    # reference's adapter, a shorter one trains its own
    keys = {t: train_key(tiny_workload, AimcTileSpec(integration_ns=t), lora, default)
            for t in (64.0, 128.0, 256.0, 512.0, 1024.0)}
    assert keys[256.0] == keys[512.0] == keys[1024.0]
    assert len({keys[64.0], keys[128.0], keys[256.0]}) == 3
    ref = with_overrides(default, **{"noise.train_integration": "reference"})
    own = with_overrides(ref, **{"noise.train_integration": "own"})
    off = with_overrides(ref, **{"noise.integration_coupling": False})
    a, b = AimcTileSpec(integration_ns=128), AimcTileSpec(integration_ns=512)
    # reference training: one adapter for every integration time, one result each
    assert train_key(tiny_workload, a, lora, ref) == train_key(tiny_workload, b, lora, ref)
    ka = train_key(tiny_workload, a, lora, ref)
    assert result_key(ka, ref, a) != result_key(ka, ref, b)
    # own training: an adapter per integration time
    assert train_key(tiny_workload, a, lora, own) != train_key(tiny_workload, b, lora, own)
    # no coupling: integration time is latency only, in neither key
    ko = train_key(tiny_workload, a, lora, off)
    assert ko == train_key(tiny_workload, b, lora, off)
    assert result_key(ko, off, a) == result_key(ko, off, b)
    # the reference point itself is part of the training noise
    moved = with_overrides(ref, **{"noise.reference_integration_ns": 128.0})
    assert train_key(tiny_workload, a, lora, moved) != ka


def test_own_training_retrains_per_integration_time(tiny_workload, small_settings, tmp_path):
    s = with_overrides(small_settings, **{"noise.train_integration": "own",
                                          "evaluation.n_draws": 1,
                                          "evaluation.drift_times": ("1d",)})
    r1 = evaluate_accuracy(tiny_workload, AimcTileSpec(integration_ns=128), LoraSpec(rank=2), s,
                           tmp_path, progress=False)
    r2 = evaluate_accuracy(tiny_workload, AimcTileSpec(integration_ns=512), LoraSpec(rank=2), s,
                           tmp_path, progress=False)
    assert not r1.cache_hit and not r2.cache_hit and "train_seconds" in r2.extras
    assert r1.extras["train_key"] != r2.extras["train_key"]


def test_tiles_take_the_noise_of_another_integration_time(tiny_workload, small_settings):
    from codesign.accuracy import convert
    from codesign.accuracy.engine import build, use_integration

    b = build(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), small_settings)
    use_integration(b.model, AimcTileSpec(integration_ns=64), small_settings)
    tiles = list(convert.analog_tiles(b.model))
    assert tiles
    for tile in tiles:
        assert tile.tile._f_io.out_noise == pytest.approx(0.08)
        assert tile.rpu_config.noise_model.t_read == pytest.approx(64e-9)


def test_a_study_over_integration_time_passes_it_to_the_accuracy_model(tmp_path):
    import pandas as pd
    import yaml

    from codesign.cli import main

    study = yaml.safe_load(open("studies/quickstart.yaml"))
    study.update(name="tint", n_trials=3,
                 search_space={"integration_ns": {"choices": [64, 512, 1024]}},
                 objectives=[{"name": "accuracy", "at": "1d"}, {"name": "latency_us"}])
    study["workload"]["accuracy"] = {"n_train": 16, "n_eval": 8, "max_seq_len": 16}
    study["accuracy"] = {"training": {"steps": 2, "batch_size": 8},
                         "evaluation": {"drift_times": ["1d"], "n_draws": 2}}
    path = tmp_path / "tint.yaml"
    path.write_text(yaml.safe_dump(study))
    assert main(["run", str(path), "--out", str(tmp_path / "results"), "--no-progress"]) == 0
    t = pd.read_csv(tmp_path / "results" / "tint" / "trials.csv").set_index("integration_ns")
    assert set(t["state"]) == {"COMPLETE"}
    # shorter integration: more output noise, lower accuracy before training, less latency
    assert t.loc[64, "accuracy_before@1d"] < t.loc[1024, "accuracy_before@1d"]
    assert t.loc[64, "latency_us"] < t.loc[1024, "latency_us"]
    # 64 ns trains under its own noise; 512 and 1024 ns share the reference's adapter (whichever
    # the sampler runs second reuses it)
    assert t["accuracy_cache_hit"].sum() == 1 and not t.loc[64, "accuracy_cache_hit"]
