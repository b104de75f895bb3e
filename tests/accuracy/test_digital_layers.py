"""Layers kept digital are not converted; the sensitivity ranking is what top-K reads."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from codesign.accuracy import cache, with_overrides
from codesign.accuracy.digital import digital_names, layer_labels
from codesign.accuracy.engine import build
from codesign.accuracy.roles import linear_roles
from codesign.errors import InputError
from hw_models.digital_spec import DigitalSpec, load_ranking
from hw_models.specs import AimcTileSpec, LoraSpec


def _kinds(model) -> dict[str, str]:
    """Body linear layer -> 'analog' or 'digital' (a peft wrapper: its base layer)."""
    from aihwkit.nn import AnalogLinear

    out = {}
    for name, mod in model.named_modules():
        base = getattr(mod, "base_layer", None)
        if base is not None and ("attention" in name or "dense" in name):
            out[name.split("encoder.", 1)[1]] = ("analog" if isinstance(base, AnalogLinear)
                                                 else type(base).__name__)
    return out


def test_a_digital_layer_stays_a_torch_linear_with_its_adapter(tiny_workload, small_settings):
    s = dataclasses.replace(small_settings, digital=DigitalSpec(layers="query+ffn_out@1"))
    b = build(tiny_workload, AimcTileSpec(), LoraSpec(rank=2, placement="all"), s)
    kinds = _kinds(b.model)
    digital = {n for n, k in kinds.items() if k != "analog"}
    assert digital == {"layer.0.attention.self.query", "layer.1.attention.self.query",
                       "layer.1.output.dense"}
    assert all(kinds[n] == "Linear" for n in digital)
    assert len(b.analog_names) == 12 - 3 and len(b.adapter_names) == 12   # adapters as placed


def test_labels_and_names_are_the_hardware_models(tiny_model):
    from transformers import AutoModel

    by_name = linear_roles(AutoModel.from_pretrained(tiny_model, add_pooling_layer=False))
    labels = layer_labels(by_name)
    assert sorted(labels.values())[:3] == ["attn_out@0", "attn_out@1", "ffn_in@0"]
    assert len(labels) == 12
    # the hardware network's layer names mean the same modules
    assert digital_names(by_name, DigitalSpec(layers="output.dense")) == [
        "encoder.layer.0.output.dense", "encoder.layer.1.output.dense"]
    assert digital_names(by_name, DigitalSpec(layers="attention.output.dense@1")) == [
        "encoder.layer.1.attention.output.dense"]
    with pytest.raises(InputError, match="^digital.layers: 'qkey' names no linear layer .* "
                                         "BLOCK 0..1$"):
        digital_names(by_name, DigitalSpec(layers="qkey"))


def test_cache_key_keeps_todays_keys_and_tells_digital_apart(tiny_workload, small_settings):
    aimc, lora = AimcTileSpec(), LoraSpec(rank=2)
    plain = cache.train_key_data(tiny_workload, aimc, lora, small_settings)
    assert "digital" not in plain
    s = dataclasses.replace(small_settings, digital=DigitalSpec(layers="ffn"))
    assert cache.train_key(tiny_workload, aimc, lora, s) != \
        cache.train_key(tiny_workload, aimc, lora, small_settings)


def test_sensitivity_ranks_roles_and_top_k_reads_the_file(tiny_workload, small_settings,
                                                          tmp_path):
    from codesign.accuracy.sensitivity import draw, measure, write_ranking

    s = with_overrides(small_settings, **{"evaluation.n_draws": 1})
    result = measure(tiny_workload, AimcTileSpec(), s, by="role", at="1d")
    rows = result["ranking"]
    assert [r["name"] for r in rows] and len(rows) == 6
    assert [r["drop"] for r in rows] == sorted((r["drop"] for r in rows), reverse=True)
    assert all(r["drop"] == pytest.approx(result["digital"] - r["analog"]) for r in rows)
    assert all(len(r["modules"]) == 2 for r in rows)          # one per block
    path = write_ranking(result, tmp_path / "ranking.json")
    assert load_ranking(str(path)) == tuple(r["name"] for r in rows)
    assert json.loads(path.read_text())["kind"] == "codesign-sensitivity"
    figure = draw(result, tmp_path / "figure.png")
    assert figure.stat().st_size > 1000
    top = DigitalSpec(layers="top-1", ranking=str(path))
    b = build(tiny_workload, AimcTileSpec(), LoraSpec(rank=2),
              dataclasses.replace(small_settings, digital=top))
    assert set(b.analog_names).isdisjoint(rows[0]["modules"])
    assert torch.is_tensor(next(b.model.parameters()))


def test_sensitivity_only_digital_measures_what_each_unit_regains(tiny_workload, small_settings):
    from codesign.accuracy.sensitivity import measure

    s = with_overrides(small_settings, **{"evaluation.n_draws": 1})
    result = measure(tiny_workload, AimcTileSpec(), s, by="role", at="1d", only="digital")
    assert result["only"] == "digital" and result["all_analog"] < result["digital"]
    for row in result["ranking"]:
        assert row["drop"] == pytest.approx(row["analog"] - result["all_analog"])
