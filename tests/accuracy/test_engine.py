"""Conversion, freezing, training, drift series, cache and failure handling on a tiny BERT."""

import json
import time

import pytest
import torch

from codesign.accuracy import convert, evaluate_accuracy, with_overrides
from codesign.accuracy.engine import build
from codesign.accuracy.lora import count_params, trainable_names
from codesign.errors import InputError
from hw_models.specs import AimcTileSpec, LoraSpec


def _analog_names(model):
    from aihwkit.nn import AnalogLinear

    return {n for n, m in model.named_modules() if isinstance(m, AnalogLinear)}


@pytest.mark.parametrize("placement,expected", [
    ("qkv", {"query", "key", "value"}),
    ("ffn", {"intermediate.dense", "output.dense"}),
    ("attn_out", {"attention.output.dense"}),
])
def test_placement_selects_adapter_modules_and_all_layers_go_analog(
        tiny_workload, small_settings, placement, expected):
    b = build(tiny_workload, AimcTileSpec(), LoraSpec(rank=2, placement=placement), small_settings)
    assert len(b.adapter_names) == 2 * len(expected)          # 2 layers
    assert all(any(n.endswith(e) for e in expected) for n in b.adapter_names)
    # every linear layer of the body is analog (paper: all layers on AIMC), adapters digital
    analog = _analog_names(b.model)
    assert len(analog) == 12 and all(n.endswith("base_layer") or "lora" not in n for n in analog)
    assert not any("lora_A" in n or "lora_B" in n for n in analog)
    # adapters stay plain torch Linear layers
    from aihwkit.nn import AnalogLinear
    for name, mod in b.model.named_modules():
        if name.endswith("lora_A.default") or name.endswith("lora_B.default"):
            assert type(mod) is torch.nn.Linear and not isinstance(mod, AnalogLinear)


def test_analog_layers_setting_limits_conversion(tiny_workload, small_settings):
    s = with_overrides(small_settings, analog_layers="qkv")
    b = build(tiny_workload, AimcTileSpec(), LoraSpec(rank=2, placement="all"), s)
    assert len(_analog_names(b.model)) == 6


def test_trainable_set_is_adapters_only(tiny_workload, small_settings):
    b = build(tiny_workload, AimcTileSpec(), LoraSpec(rank=4), small_settings)
    names = trainable_names(b.model)
    assert names and all("lora_A" in n or "lora_B" in n for n in names)
    # aihwkit's analog_ctx, tile weights, biases and output scales are frozen
    for n, p in b.model.named_parameters():
        if "analog_module" in n:
            assert not p.requires_grad, n
    trainable, total = count_params(b.model)
    # 12 layers, LoRA A (in x r) + B (r x out):
    # 4 x (32+32) x 6 + 4 x (32+64) x 2 + 4 x (64+32) x 2 ... per layer
    per_layer = sum(4 * (m.in_features + m.out_features) for m in
                    (b.model.get_submodule(n).base_layer for n in
                     ["base_model.model." + x for x in b.adapter_names]))
    assert trainable == per_layer and total > trainable


def test_trainable_params_linear_in_rank(tiny_workload, small_settings):
    counts = [count_params(build(tiny_workload, AimcTileSpec(), LoraSpec(rank=r),
                                 small_settings).model)[0] for r in (1, 2, 4)]
    assert counts[1] == 2 * counts[0] and counts[2] == 4 * counts[0]


def test_rpu_config_from_hardware_knobs():
    from codesign.accuracy.rpu import build_rpu_config, resolution
    from codesign.accuracy.settings import NoiseSettings

    cfg = build_rpu_config(AimcTileSpec(rows=256, cols=128, adc_bits=6, dac_bits=7),
                           NoiseSettings())
    assert cfg.forward.out_res == pytest.approx(1 / 62) and cfg.forward.inp_res == pytest.approx(1 / 126)
    assert cfg.mapping.max_input_size == 256 and cfg.mapping.max_output_size == 128
    assert cfg.forward.out_noise == 0.04 and cfg.clip.sigma == 3.0
    assert resolution(8) == pytest.approx(1 / 254)


def test_evaluate_series_shape_cache_hit_and_determinism(tiny_workload, small_settings, tmp_path):
    lora = LoraSpec(rank=2)
    r1 = evaluate_accuracy(tiny_workload, AimcTileSpec(), lora, small_settings, tmp_path / "a",
                           progress=False)
    assert r1.ok and not r1.cache_hit
    d = r1.to_dict()
    # the fidelity task reports one metric: no measures, in the result or its JSON
    assert r1.measures == {} and "measures" not in d
    for key in ("digital", "analog_before", "analog_after"):
        assert list(d[key]) == ["0s", "1d"]
        assert all(set(v) == {"mean", "std"} for v in d[key].values())
    assert d["digital"]["0s"]["mean"] == pytest.approx(1.0)
    assert d["analog_before"]["1d"]["mean"] < 1.0
    json.dumps(d)
    assert list((tmp_path / "a" / "adapters").glob("*/adapter_model.safetensors"))
    # a repeat is a cache hit, fast, same numbers
    t = time.perf_counter()
    r2 = evaluate_accuracy(tiny_workload, AimcTileSpec(), lora, small_settings, tmp_path / "a",
                           progress=False)
    assert r2.cache_hit and time.perf_counter() - t < 5
    assert r2.analog_after == r1.analog_after
    # new drift times: adapters from cache (no training), evaluation redone
    s3 = with_overrides(small_settings, **{"evaluation.drift_times": ("1h",)})
    r3 = evaluate_accuracy(tiny_workload, AimcTileSpec(), lora, s3, tmp_path / "a", progress=False)
    assert r3.cache_hit and list(r3.analog_after) == ["1h"] and "train_seconds" not in r3.extras
    # seeded: a fresh cache gives identical numbers
    r4 = evaluate_accuracy(tiny_workload, AimcTileSpec(), lora, small_settings, tmp_path / "b",
                           progress=False)
    assert not r4.cache_hit
    assert r4.analog_after == r1.analog_after and r4.analog_before == r1.analog_before
    # a longer integration time: the adapter trained at the (noisier) reference integration time
    # is reused (no training), the evaluation is redone at that integration time's noise; an ADC
    # change retrains
    r5 = evaluate_accuracy(tiny_workload, AimcTileSpec(integration_ns=512), lora, small_settings,
                           tmp_path / "a", progress=False)
    assert r5.cache_hit and "train_seconds" not in r5.extras
    assert r5.analog_before != r1.analog_before
    from codesign.accuracy.cache import train_key
    assert train_key(tiny_workload, AimcTileSpec(adc_bits=6), lora, small_settings) != \
        train_key(tiny_workload, AimcTileSpec(), lora, small_settings)


def test_gaussian_noise_and_halora_run(tiny_workload, small_settings, tmp_path):
    s = with_overrides(small_settings, **{"noise.train_noise_model": "gaussian",
                                          "training.loss": "halora",
                                          "evaluation.n_draws": 1})
    r = evaluate_accuracy(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), s, tmp_path,
                          progress=False)
    assert r.ok and r.extras["train_noise_model"] == "gaussian"


def test_full_ahwa_trains_everything(tiny_workload, small_settings, tmp_path):
    s = with_overrides(small_settings, **{"training.mode": "full_ahwa", "evaluation.n_draws": 1})
    r = evaluate_accuracy(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), s, tmp_path,
                          progress=False)
    assert r.ok and r.trainable_params == r.total_params
    assert set(r.analog_before) == {"0s", "1d"}


def test_nan_loss_fails_and_caches_nothing(tiny_workload, small_settings, tmp_path, monkeypatch):
    from codesign.accuracy.workloads.fidelity import FidelityTask

    real = FidelityTask.loss
    monkeypatch.setattr(FidelityTask, "loss",
                        lambda self, model, batch: real(self, model, batch) * float("nan"))
    r = evaluate_accuracy(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), small_settings,
                          tmp_path, progress=False)
    assert r.status == "failed" and "non-finite loss" in r.reason
    assert not list(tmp_path.rglob("*.safetensors")) and not list(tmp_path.rglob("results/*.json"))


@pytest.mark.parametrize("kwargs,match", [
    ({"lora": LoraSpec(rank=0)}, "rank"),
    ({"lora": LoraSpec(rank=2, placement=("other",))}, "placement"),
    ({"model": "/nonexistent/model-dir"}, "workload.model"),
    ({"model": "no-such-org/no-such-model-xyz"}, "workload.model"),
    ({"task": "no-such-task"}, "workload.task"),
])
def test_bad_input_is_one_line_input_error(tiny_workload, small_settings, tmp_path, kwargs,
                                           match):
    import dataclasses

    lora = kwargs.pop("lora", LoraSpec(rank=2))
    wl = dataclasses.replace(tiny_workload, **kwargs)
    with pytest.raises(InputError, match=match) as info:
        evaluate_accuracy(wl, AimcTileSpec(), lora, small_settings, tmp_path, progress=False)
    assert "\n" not in str(info.value)


def test_programming_and_drift_change_weights_and_restore(tiny_workload, small_settings):
    b = build(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), small_settings)
    tile = next(convert.analog_tiles(b.model))
    clean = tile.tile.get_weights().clone()
    convert.program(b.model, seed=0)
    convert.drift(b.model, 86400.0)
    assert not torch.equal(tile.tile.get_weights(), clean)
    convert.restore_reference(b.model)
    assert torch.equal(tile.tile.get_weights(), clean)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_path(tiny_workload, small_settings, tmp_path):
    s = with_overrides(small_settings, device="cuda")
    r = evaluate_accuracy(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), s, tmp_path,
                          progress=False)
    assert r.ok and r.extras["device"].startswith("cuda")


def test_cuda_request_without_gpu_is_input_error(tiny_workload, small_settings, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    s = with_overrides(small_settings, device="cuda")
    with pytest.raises(InputError, match="cuda"):
        evaluate_accuracy(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), s, tmp_path,
                          progress=False)



@pytest.mark.parametrize("clip_sigma", [0.0, 3.0])
def test_clip_sigma_clips_the_meta_weights_before_programming_or_not_at_all(clip_sigma):
    from codesign.accuracy import NoiseSettings
    from codesign.accuracy.rpu import build_rpu_config

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(256, 64))
    ref = net[0].weight.detach().clone()
    ref[:, 7] = 20 * float(ref.std())            # an outlier far beyond 3 sigma in every output
    net[0].weight.data.copy_(ref)
    rpu = build_rpu_config(AimcTileSpec(), NoiseSettings(clip_sigma=clip_sigma))
    convert.convert(net, ["0"], rpu)
    weight, _ = net[0].get_weights()
    if clip_sigma:   # the outliers are clipped, the rest of the layer is programmed as trained
        assert bool((weight[:, 7] < 0.5 * ref[:, 7]).all())
        assert torch.allclose(weight[:, 8:], ref[:, 8:], atol=1e-5)
    else:
        assert torch.allclose(weight, ref, atol=1e-5)


@pytest.mark.parametrize("chip", [None, 7])
def test_train_chip_seed_trains_on_one_chip_the_evaluation_can_program_again(
        tiny_workload, small_settings, chip):
    from codesign.accuracy.train import train

    settings = with_overrides(small_settings, **{"noise.train_chip_seed": chip,
                                                 "noise.pcm_reprogram_every": 1})
    b = build(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), settings)
    assert train(b.model, b.task, settings, b.device, progress=False).status == "ok"
    tiles = list(convert.analog_tiles(b.model))
    trained_on = [t.programmed_weights.clone() for t in tiles]
    with torch.no_grad():
        convert.program(b.model, seed=7)
    same = all(torch.equal(a, t.programmed_weights) for a, t in zip(trained_on, tiles))
    # with a chip seed the last training step still saw chip 7; without, every step a fresh chip
    assert same == (chip == 7)


def test_torch_threads_free_cores_by_default_env_overrides_bad_value_is_input_error(
        monkeypatch):
    import os

    from codesign.accuracy.engine import torch_threads
    from codesign.errors import InputError

    monkeypatch.delenv("CODESIGN_TORCH_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    for load, threads in ((0.2, 2), (0.6, 1), (1.0, 1), (4.5, 1)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert torch_threads() == threads
    monkeypatch.setenv("CODESIGN_TORCH_THREADS", "2")
    assert torch_threads() == 2
    monkeypatch.setenv("CODESIGN_TORCH_THREADS", "0")
    assert torch_threads() == 0                       # torch's own choice
    for bad in ("two", "-1"):
        monkeypatch.setenv("CODESIGN_TORCH_THREADS", bad)
        with pytest.raises(InputError, match="CODESIGN_TORCH_THREADS"):
            torch_threads()
