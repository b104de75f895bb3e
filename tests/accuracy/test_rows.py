"""Analog layers skip padded rows: real tokens' values and gradients are those of the padded model."""

from __future__ import annotations

import pytest


def _built(tiny_model, out_noise=0.0):
    from codesign.accuracy import AccuracySettings, WorkloadSpec, convert
    from codesign.accuracy.engine import build
    from hw_models.specs import AimcTileSpec, LoraSpec

    b = build(WorkloadSpec(model=tiny_model, n_train=8, n_eval=8), AimcTileSpec(),
              LoraSpec(rank=2), AccuracySettings(device="cpu"))
    convert.set_integration_noise(b.model, out_noise, 250e-9)
    return b


def _batch(b):
    enc = b.task._encode(["A short one.", "A much longer sentence with quite a few more tokens in it."])
    assert int(enc["attention_mask"].sum()) < enc["attention_mask"].numel()      # has padding
    return enc


def test_real_tokens_values_and_adapter_gradients_equal_the_padded_computation(tiny_model,
                                                                                monkeypatch):
    import torch

    from codesign.accuracy import convert
    from codesign.accuracy.workloads.fidelity import FidelityTask

    seen = []

    def model(pad_free):
        monkeypatch.setattr(FidelityTask, "pad_free", pad_free)
        b = _built(tiny_model)
        for layer in convert.analog_layers(b.model):
            layer.register_forward_pre_hook(lambda m, a: seen.append(a[0].shape))
        return b

    b = model(True)
    enc = _batch(b)
    mask = enc["attention_mask"].bool()

    def run():
        b.model.zero_grad(set_to_none=True)
        out = b.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        hidden = out.last_hidden_state
        (hidden[mask] ** 2).sum().backward()
        grads = {n: p.grad.clone() for n, p in b.model.named_parameters() if p.grad is not None}
        return hidden[mask].detach(), grads

    torch.manual_seed(0)
    skipped, g_skipped = run()
    assert seen and all(s == (int(mask.sum()), s[-1]) for s in seen)   # real rows only, 2-d
    b = model(False)
    seen.clear()
    torch.manual_seed(0)
    padded, g_padded = run()
    assert seen and all(s[:2] == mask.shape for s in seen)
    assert torch.allclose(skipped, padded, atol=1e-5)
    assert g_skipped.keys() == g_padded.keys() and g_skipped
    for name in g_skipped:
        assert torch.allclose(g_skipped[name], g_padded[name], atol=1e-5, rtol=1e-4), name


def test_without_padding_or_mask_nothing_is_gathered(tiny_model):
    from codesign.accuracy import convert
    from codesign.accuracy.rows import rows_of

    import torch

    assert rows_of(torch.ones(2, 5)) is None and rows_of(None) is None
    assert rows_of(torch.ones(2, 3, 4)) is None
    shape, index = rows_of(torch.tensor([[1, 1, 0], [1, 0, 0]]))
    assert tuple(shape) == (2, 3) and index.tolist() == [0, 1, 3]
    b = _built(tiny_model)
    seen = []
    for layer in convert.analog_layers(b.model):
        layer.register_forward_pre_hook(lambda m, a: seen.append(a[0].dim()))
    enc = _batch(b)
    b.model(input_ids=enc["input_ids"])                      # no mask: every row computed
    assert seen and set(seen) == {3}


def test_squad_keeps_padded_rows_and_other_tasks_skip_them():
    from codesign.accuracy.workloads import Task
    from codesign.accuracy.workloads.squad import SquadTask

    assert Task.pad_free and not SquadTask.pad_free


@pytest.mark.parametrize("passes", [1, 3])
def test_noise_tape_gives_each_mvm_and_round_its_stored_draw(passes):
    import torch

    from codesign.accuracy.tiles import NoiseTape

    tape = NoiseTape()
    calls = [((4, 3), 0), ((4, 5), 0), ((4, 5), 1), ((2, 3), 0)]      # (shape, bound round)
    first = [tape.noise(torch.empty(s), 0.5, r).clone() for s, r in calls]
    assert abs(float(torch.cat([x.flatten() for x in first]).std()) - 0.5) < 0.3
    for _ in range(passes):
        tape.rewind()
        again = [tape.noise(torch.empty(s), 0.5, r) for s, r in calls]
        assert all(torch.equal(a, b) for a, b in zip(first, again))
    tape.rewind()
    assert torch.equal(tape.noise(torch.empty(4, 3), 1.0), first[0] * 2)     # another std: scaled
    assert tape.noise(torch.empty(9, 9), 0.5).shape == (9, 9)    # another shape: a fresh draw
    # a pass without the second MVM's extra bound-management round stays in step
    assert torch.equal(tape.noise(torch.empty(2, 3), 0.5), first[3])


def test_variants_of_a_draw_share_output_noise(tiny_model):
    """Two identical variants give identical values (the same devices and output noise); the
    draws (chips) still differ."""
    import contextlib

    from codesign.accuracy.drift import evaluate_series
    from codesign.accuracy.settings import EvaluationSettings

    b = _built(tiny_model, out_noise=0.1)
    ev = EvaluationSettings(drift_times=("1d", "1y"), n_draws=2)
    out = evaluate_series(b.model, b.task, ev, b.device,
                          {"a": contextlib.nullcontext, "b": contextlib.nullcontext})
    for label in ("1d", "1y"):
        assert out["a"][label]["draws"] == out["b"][label]["draws"]
        assert out["a"][label]["draws"][0] != out["a"][label]["draws"][1]
