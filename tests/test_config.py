"""Strict decoding of study files: valid cases decode, invalid ones name their field path."""

from __future__ import annotations

import copy

import pytest

from codesign.config import load_study, study_from_dict
from codesign.config.overrides import apply_overrides
from codesign.errors import InputError
from tests.conftest import MINIMAL_STUDY


def study(**changes):
    data = copy.deepcopy(MINIMAL_STUDY)
    for dotted, value in changes.items():
        node = data
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return data


VALID = [
    ("minimal", study(), lambda s: s.config.sampler == "nsga2" and s.config.hardware.tokens == 8),
    ("sampler tpe", study(sampler="tpe"), lambda s: s.config.sampler == "tpe"),
    ("tcdm override", study(hardware__pmca__tcdm_kib=256),
     lambda s: s.config.hardware.pmca.tcdm_kib == 256),
    ("int given for float", study(hardware__aimc__integration_ns=128),
     lambda s: s.config.hardware.aimc.integration_ns == 128.0),
    ("placement list", study(lora__placement=["query", "value"]),
     lambda s: s.config.lora.roles == {"query", "value"}),
    ("objective direction default", study(objectives=[{"name": "accuracy", "at": "1y"},
                                                      {"name": "latency_us"}]),
     lambda s: s.needs_accuracy),
    ("constraints", study(constraints=["tcdm_fits", "latency_us<=500"]),
     lambda s: [str(r) for r in s.rules] == ["tcdm_fits>=1", "latency_us<=500"]),
    ("range axis", study(search_space={"adc_bits": {"low": 4, "high": 8}}),
     lambda s: "hardware.aimc.adc_bits" in s.axes),
    ("dotted axis", study(search_space={"hardware.pmca.clock_ghz": {"low": 0.5, "high": 1.0}}),
     lambda s: "hardware.pmca.clock_ghz" in s.axes),
    ("search space file", study(search_space="paper"), lambda s: len(s.axes) == 6),
]


@pytest.mark.parametrize("label,data,check", VALID, ids=[v[0] for v in VALID])
def test_valid_studies_decode(label, data, check):
    assert check(study_from_dict(data))


INVALID = [
    ("unknown top key", study(colour="red"), "colour: unknown key"),
    ("unknown nested key", study(hardware__pmca__tcdm=1), "hardware.pmca.tcdm: unknown key"),
    ("wrong type", study(n_trials="many"), "n_trials: must be an integer; got 'many'"),
    ("bool is not int", study(seed=True), "seed: must be an integer"),
    ("zero size", study(hardware__aimc__rows=0), "hardware.aimc.rows: must be >= 1, got 0"),
    ("negative time", study(hardware__aimc__integration_ns=-5),
     "hardware.aimc.integration_ns: must be >= 1, got -5"),
    ("unknown sampler", study(sampler="annealing"), "sampler: must be one of nsga2, tpe, gp"),
    ("unknown placement", study(lora__placement="everywhere"), "lora.placement: must be one of"),
    ("bad role", study(lora__placement=["query", "elsewhere"]), "lora.placement: roles must be"),
    ("choice out of range", study(search_space={"rank": {"choices": [1, 2, -1]}}),
     "search_space.rank.choices[2]: must be >= 0, got -1"),
    ("choice wrong type", study(search_space={"tokens": {"choices": [8, "many"]}}),
     "search_space.tokens.choices[1]: must be an integer"),
    ("unknown axis", study(search_space={"colour": {"choices": [1]}}),
     "search_space.colour: 'colour' names no design parameter"),
    ("empty space", study(search_space={}), "search_space: must name at least one axis"),
    ("empty choices", study(search_space={"rank": {"choices": []}}),
     "search_space.rank.choices: must not be empty"),
    ("choices and range", study(search_space={"rank": {"choices": [1], "low": 1, "high": 2}}),
     "search_space.rank: give either choices"),
    ("low above high", study(search_space={"adc_bits": {"low": 8, "high": 4}}),
     "search_space.adc_bits: low (8) is above high (4)"),
    ("same axis twice", study(search_space={"rank": {"choices": [1]},
                                            "lora.rank": {"choices": [2]}}),
     "search_space.lora.rank: the same parameter as axis 'rank'"),
    ("group axis", study(search_space={"hardware.aimc": {"choices": [1]}}),
     "is a group of parameters"),
    ("missing search-space file", study(search_space="nope"),
     "search_space: no search-space file 'nope'"),
    ("unknown objective", study(objectives=[{"name": "speed"}]),
     "objectives[0].name: unknown objective 'speed'"),
    ("bad direction", study(objectives=[{"name": "latency_us", "direction": "up"}]),
     "objectives[0].direction"),
    ("unknown drift horizon", study(objectives=[{"name": "accuracy", "at": "2d"}]),
     "objectives[0].at: '2d' is not an evaluated drift time"),
    ("bad constraint", study(constraints=["latency_us <"]), "constraints[0]: expected METRIC OP"),
    ("constraint unknown metric", study(constraints=["speed<=3"]),
     "constraints[0]: unknown metric 'speed'"),
    ("missing name", {k: v for k, v in study().items() if k != "name"}, "name: required"),
    ("bad name", study(name="a/b"), "name: must be letters"),
    ("bad drift label", study(accuracy__evaluation__drift_times=["1d", "soon"]),
     "accuracy.evaluation.drift_times[1]"),
]


@pytest.mark.parametrize("label,data,message", INVALID, ids=[v[0] for v in INVALID])
def test_invalid_studies_name_their_field(label, data, message):
    with pytest.raises(InputError) as err:
        study_from_dict(data)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_overrides_set_nested_values_and_parse_yaml():
    data = apply_overrides({"hardware": {"pmca": {"tcdm_kib": 128}}},
                           ["hardware.pmca.tcdm_kib=256", "lora.placement=[query, value]"])
    assert data == {"hardware": {"pmca": {"tcdm_kib": 256}},
                    "lora": {"placement": ["query", "value"]}}


@pytest.mark.parametrize("text", ["noequals", "=3", "a..b=1", "a.b=[unclosed"])
def test_bad_overrides_are_one_line_errors(text):
    with pytest.raises(InputError, match="--set"):
        apply_overrides({}, [text])


def test_set_texts_and_a_python_mapping_are_one_override_path():
    from codesign.accuracy.settings import AccuracySettings
    from codesign.config.overrides import override

    texts = ["hardware.pmca.tcdm_kib=256", "lora.placement=[query, value]"]
    mapping = {"hardware.pmca.tcdm_kib": 256, "lora.placement": ["query", "value"]}
    data = {"hardware": {"pmca": {"tcdm_kib": 128}}}
    assert apply_overrides(data, texts) == apply_overrides(data, mapping)
    assert data == {"hardware": {"pmca": {"tcdm_kib": 128}}}          # the input is not changed
    settings = override(AccuracySettings(), {"training.steps": 40})
    assert settings.training.steps == 40 and settings == override(AccuracySettings(),
                                                                   ["training.steps=40"])
    with pytest.raises(InputError, match="training.steps: must be >= 1"):
        override(AccuracySettings(), {"training.steps": 0})
    with pytest.raises(InputError, match="--set: expected a dotted path"):
        apply_overrides({}, {"a..b": 1})


def test_override_through_a_scalar_is_refused():
    with pytest.raises(InputError, match="--set name.x: name is not a mapping"):
        apply_overrides({"name": "t"}, ["name.x=1"])


def test_malformed_yaml_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: t\nsearch_space: {rank: [1, 2\n")
    with pytest.raises(InputError, match=r"study: .*bad.yaml is not valid YAML at line"):
        load_study(path)


def test_missing_study_file(tmp_path):
    with pytest.raises(InputError, match="study: file not found"):
        load_study(tmp_path / "missing.yaml")


def test_shipped_studies_decode():
    for name in ("quickstart", "paper_mobilebert", "llama_latency"):
        loaded = load_study(f"studies/{name}.yaml")
        assert loaded.config.name == name


def test_the_paper_study_writes_the_search_defaults_out():
    """studies/paper_mobilebert.yaml's search: block spells out the defaults (what the joint
    benchmark measured); a default that moves must move there too."""
    import dataclasses

    import yaml

    from codesign.config.search import SearchSettings

    written = yaml.safe_load(open("studies/paper_mobilebert.yaml"))["search"]
    defaults = SearchSettings()
    assert {"warm_start_steps", "screen_steps", "screen_placements", "promote_steps",
            "promote_share", "promote_optimism", "optimism_by", "siblings"} <= set(written)
    for name, value in written.items():
        if name == "warm_start":
            continue                                 # off by default, on in the paper study
        got = getattr(defaults, name)
        assert (list(got) if isinstance(got, tuple) else got) == value, name
    assert {f.name for f in dataclasses.fields(SearchSettings)} >= set(written)


def test_decoder_configs_that_transformers_builds_stay_accepted():
    """Grouped-query attention with K/V heads dividing the heads, and an explicit head_dim whose
    heads x head_dim differs from the width (Gemma-7B: 16 x 256 for a width of 3072)."""
    from hw_models.workload import network_from_config

    base = {"model_type": "llama", "intermediate_size": 256, "num_hidden_layers": 2}
    gqa = network_from_config({**base, "hidden_size": 128, "num_attention_heads": 8,
                               "num_key_value_heads": 2})
    assert gqa.digital_ops[0].kv_heads == 2 and gqa.digital_ops[0].head_dim == 16
    gemma = network_from_config({**base, "hidden_size": 3072, "num_attention_heads": 16,
                                 "head_dim": 256})
    assert gemma.layers[0].n == 16 * 256
