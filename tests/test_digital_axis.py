"""digital_layers as a search axis: decoded strictly, applied to the design, followed by both
the hardware metrics and the accuracy settings."""

from __future__ import annotations

import pytest

from codesign.config import study_from_dict
from codesign.errors import InputError
from codesign.evaluators import hardware_metrics, with_digital
from codesign.search_space import apply_params

STUDY = {"name": "d", "sampler": "grid", "workload": {"network": "minilm-l6", "seq_len": 64},
         "objectives": [{"name": "latency_us"}, {"name": "area_mm2"}]}


def test_axis_values_become_the_hardware_field_and_move_tiles_area_latency():
    loaded = study_from_dict({**STUDY, "search_space": {
        "digital_layers": {"choices": ["none", "ffn", "query+key"]}}})
    axis = loaded.axes["hardware.digital.layers"]
    assert axis.choices == ["none", "ffn", "query+key"]
    design = loaded.config.design
    point = apply_params(design, {"hardware.digital.layers": "query+key"})
    assert point.hardware.digital.layers == ("query", "key")
    base, hybrid = hardware_metrics(design), hardware_metrics(point)
    assert hybrid["area_mm2"] < base["area_mm2"] and hybrid["latency_us"] > base["latency_us"]
    # the accuracy model keeps the same layers digital
    assert with_digital(point).accuracy.digital == point.hardware.digital
    assert with_digital(design) is design


@pytest.mark.parametrize("choice,expect", [
    ("qkey", "search_space.digital_layers.choices[0]: 'qkey' names no layer of minilm-l6; "
             "allowed: none, top-K, all, qkv, attention, attn_out, ffn, roles attn_out, ffn_in, "
             "ffn_out, key, query, value, layers query, key, value, attention.output.dense, "
             "intermediate.dense, output.dense, or NAME@BLOCK with BLOCK 0..5"),
    ("ffn_in@7", "search_space.digital_layers.choices[0]: block 7 of 'ffn_in@7' is not in 0..5"),
])
def test_unknown_layer_is_one_line_with_the_allowed_names(choice, expect):
    with pytest.raises(InputError) as err:
        study_from_dict({**STUDY, "search_space": {"digital_layers": {"choices": [choice]}}})
    assert str(err.value).startswith(expect) and "\n" not in str(err.value)
