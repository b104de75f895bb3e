"""A hostile but fair user: bad study files, --set values, flags, storage URLs, network configs and
pick expressions. Each one must end in one line on stderr that names the field or flag, exit 2,
no traceback, nothing executed and nothing stored changed (every file of the workspace, the stored
study and a foreign database included, keeps its bytes).

The CLI runs in-process (``codesign.cli.main``) so that the whole table takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from codesign.cli import main

GOOD = {
    "name": "bad",
    "sampler": "random",
    "n_trials": 2,
    "workload": {"network": "minilm-l6", "seq_len": 64},
    "search_space": {"rank": {"choices": [1, 2]}},
    "objectives": [{"name": "latency_us"}],
}
PWNED = "PWNED"  # a file that injected code would create in the workspace
BERT = {"model_type": "bert", "hidden_size": 64, "intermediate_size": 128,
        "num_attention_heads": 4, "num_hidden_layers": 2}


def study(**changes) -> str:
    data = {**GOOD, **changes}
    return yaml.safe_dump({k: v for k, v in data.items() if v is not _DROP}, sort_keys=False)


_DROP = object()


def with_space(space) -> str:
    return study(search_space=space)


def nested(depth: int) -> str:
    return "name: deep\nsearch_space: " + "[" * depth + "]" * depth + "\n"


def bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    return "\n".join(lines) + "\nname: bomb\n"


# file name -> content (text or bytes); {W} is the workspace folder
FILES: dict[str, str | bytes] = {
    "binary.yaml": bytes(range(256)) * 4,
    "latin1.yaml": "name: caf\u00e9\n".encode("latin-1") + study().encode(),
    "utf16.yaml": study().encode("utf-16"),
    "nul.yaml": b"name: a\x00b\n",
    "empty.yaml": b"",
    "list.yaml": "- 1\n- 2\n",
    "scalar.yaml": "just words\n",
    "deep_flow.yaml": nested(5000),
    "deep_block.yaml": "name: deep\nx:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)),
    "bomb.yaml": bomb(),
    "dup_key.yaml": study().replace("n_trials: 2", "n_trials: 3\nn_trials: 500"),
    "dup_nested.yaml": study().replace("seq_len: 64", "seq_len: 64\n  seq_len: 128"),
    "python_apply.yaml": '!!python/object/apply:os.system ["touch {W}/PWNED"]\n',
    "python_name.yaml": study(name="!!python/name:os.system"),
    "python_tag_field.yaml": study() + 'x: !!python/object/apply:os.system ["touch {W}/PWNED"]\n',
    "tabs.yaml": "name: a\n\tn_trials: 3\n",
    "unclosed.yaml": "name: [a, b\n",
    "big.yaml": "name: big\n" + "# " + "x" * (1 << 20) + "\n",
    "seed_2_32.yaml": study(seed=2**32),
    "seed_huge.yaml": study(seed=10**30),
    "seed_neg.yaml": study(seed=-1),
    "seed_float.yaml": study(seed=1.5),
    "seq_len_huge.yaml": study(workload={"network": "minilm-l6", "seq_len": 10**9}),
    "seq_len_zero.yaml": study(workload={"network": "minilm-l6", "seq_len": 0}),
    "seq_len_str.yaml": study(workload={"network": "minilm-l6", "seq_len": "long"}),
    "n_trials_zero.yaml": study(n_trials=0),
    "n_trials_huge.yaml": study(n_trials=10**12),
    "n_trials_bool.yaml": study(n_trials=True),
    "n_trials_str.yaml": study(n_trials="ten"),
    "search_pruner.yaml": study(search={"pruner": "asha"}),
    "search_checkpoint.yaml": study(search={"checkpoints": [1.5]}),
    "search_order.yaml": study(search={"checkpoints": [0.5, 0.25]}),
    "search_factor.yaml": study(search={"reduction_factor": 1}),
    "search_warm_steps.yaml": study(search={"warm_start_steps": 0}),
    "search_warm_axes.yaml": study(search={"warm_start_axes": ["rank", "placement"]}),
    "search_siblings.yaml": study(search={"siblings": -1}),
    "search_screen_one.yaml": study(search={"warm_start": True, "screen_steps": 1.0}),
    "search_promote.yaml": study(search={"warm_start": True, "promote_share": -0.1}),
    "search_promote_steps.yaml": study(search={"warm_start": True, "promote_steps": 0}),
    "search_placements.yaml": study(search={"warm_start": True, "screen_placements": "qkv"}),
    "search_screen_start.yaml": study(search={"warm_start": True, "screen_start": "nearest"}),
    "search_optimism_by.yaml": study(search={"warm_start": True, "optimism_by": "knob"}),
    "search_unknown.yaml": study(search={"warm": True}),
    "pop_one.yaml": study(population_size=1),
    "pop_huge.yaml": study(population_size=10**9),
    "sampler_bad.yaml": study(sampler="cmaes-turbo"),
    "sampler_list.yaml": study(sampler=["tpe"]),
    "name_slash.yaml": study(name="../escape"),
    "name_empty.yaml": study(name=""),
    "name_long.yaml": study(name="x" * 300),
    "name_missing.yaml": study(name=_DROP),
    "name_dollar.yaml": study(name="$(touch PWNED)"),
    "unknown_top.yaml": study(n_trails=3),
    "unknown_hw.yaml": study(hardware={"pmca": {"tcdm_kb": 128}}),
    "clock_tiny.yaml": study(hardware={"pmca": {"clock_ghz": 1e-300}}),
    "clock_zero.yaml": study(hardware={"pmca": {"clock_ghz": 0}}),
    "clock_huge.yaml": study(hardware={"pmca": {"clock_ghz": 1e300}}),
    "tint_tiny.yaml": study(hardware={"aimc": {"integration_ns": 1e-300}}),
    "tint_huge.yaml": study(hardware={"aimc": {"integration_ns": 1e300}}),
    "adc_kind.yaml": study(hardware={"aimc": {"adc_kind": "sigma-delta"}}),
    "mapping.yaml": study(hardware={"attention": {"mapping": "everywhere"}}),
    "clock_inf.yaml": study().replace("n_trials: 2", "n_trials: 2\nhardware: {pmca: {clock_ghz: .inf}}"),
    "clock_nan.yaml": study().replace("n_trials: 2", "n_trials: 2\nhardware: {pmca: {clock_ghz: .nan}}"),
    "tcdm_huge.yaml": study(hardware={"pmca": {"tcdm_kib": 10**23}}),
    "tcdm_float.yaml": study(hardware={"pmca": {"tcdm_kib": 1e23}}),
    "cores_huge.yaml": study(hardware={"pmca": {"compute_cores": 10**7}}),
    "redmule_huge.yaml": study(hardware={"pmca": {"redmule_fma": 10**9}}),
    "redmule_odd.yaml": study(hardware={"pmca": {"redmule_fma": 30}}),
    "dma_tiny.yaml": study(hardware={"pmca": {"dma_bytes_per_cycle": 1e-300}}),
    "link_huge.yaml": study(hardware={"pmca": {"link_bytes_per_cycle": 1e300}}),
    "energy_huge.yaml": study(hardware={"pmca": {"redmule_pj_per_mac": 1e300}}),
    "tokens_huge.yaml": study(hardware={"tokens": 10**9}),
    "tokens_zero.yaml": study(hardware={"tokens": 0}),
    "rank_huge.yaml": study(lora={"rank": 10**9}),
    "rank_neg.yaml": study(lora={"rank": -1}),
    "alpha_huge.yaml": study(lora={"alpha": 1e300}),
    "dropout_one.yaml": study(lora={"dropout": 1.0}),
    "placement_bad.yaml": study(lora={"placement": "everywhere"}),
    "hardware_list.yaml": study(hardware=[1, 2]),
    "objectives_empty.yaml": study(objectives=[]),
    "objective_unknown.yaml": study(objectives=[{"name": "speed"}]),
    "objective_twice.yaml": study(objectives=[{"name": "latency_us"}, {"name": "latency_us"}]),
    "objective_dir.yaml": study(objectives=[{"name": "latency_us", "direction": "up"}]),
    "objective_at.yaml": study(objectives=[{"name": "accuracy", "at": "5y"}]),
    "objectives_str.yaml": study(objectives="latency_us"),
    "constraint_inf.yaml": study(constraints=["latency_us<=1e999"]),
    "constraint_nan.yaml": study(constraints=["latency_us<=nan"]),
    "constraint_bad.yaml": study(constraints=["latency_us =< 3"]),
    "constraint_code.yaml": study(constraints=["__import__('os').system('touch PWNED')"]),
    "constraint_unknown.yaml": study(constraints=["speed<=3"]),
    "constraint_needs_op.yaml": study(constraints=["latency_us"]),
    "storage_empty.yaml": study(storage=""),
    "storage_memory.yaml": study(storage="sqlite://"),
    "storage_scheme.yaml": study(storage="mongodb://localhost/db"),
    "space_empty.yaml": with_space({}),
    "space_list.yaml": with_space([1, 2]),
    "space_unknown.yaml": with_space({"warp_factor": {"choices": [1, 2]}}),
    "space_group.yaml": with_space({"hardware.pmca": {"choices": [1]}}),
    "space_both.yaml": with_space({"rank": {"choices": [1], "low": 1, "high": 2}}),
    "space_neither.yaml": with_space({"rank": {}}),
    "space_low_only.yaml": with_space({"rank": {"low": 1}}),
    "space_low_high.yaml": with_space({"rank": {"low": 8, "high": 2}}),
    "space_step_zero.yaml": with_space({"clock_ghz": {"low": 0.5, "high": 1.0, "step": 0}}),
    "space_log_zero.yaml": with_space({"rank": {"low": 0, "high": 8, "log": True}}),
    "space_int_fraction.yaml": with_space({"tokens": {"low": 8.5, "high": 64}}),
    "space_int_step_fraction.yaml": with_space({"tokens": {"low": 8, "high": 64, "step": 2.5}}),
    "space_choices_empty.yaml": with_space({"rank": {"choices": []}}),
    "space_choices_repeat.yaml": with_space({"rank": {"choices": [1, 1]}}),
    "space_choice_bad.yaml": with_space({"rank": {"choices": [1, -4]}}),
    "space_choice_type.yaml": with_space({"rank": {"choices": ["eight"]}}),
    "space_seq_len_huge.yaml": with_space({"seq_len": {"low": 64, "high": 10**9}}),
    "space_clock_tiny.yaml": with_space({"clock_ghz": {"low": 1e-300, "high": 1.0}}),
    "space_alias_twice.yaml": with_space({"rank": {"choices": [1]}, "lora.rank": {"choices": [2]}}),
    "space_file_missing.yaml": study(search_space="no_such_space"),
    "space_file_binary.yaml": study(search_space="{W}/binary.yaml"),
    "space_file_deep.yaml": study(search_space="{W}/deep_flow.yaml"),
    "space_unknown_key.yaml": with_space({"rank": {"choices": [1], "weights": [1]}}),
    "grid_huge.yaml": study(sampler="grid", search_space={
        "tokens": {"low": 1, "high": 4096}, "rank": {"low": 0, "high": 4096}}),
    "grid_no_step.yaml": study(sampler="grid", search_space={"clock_ghz": {"low": 0.5, "high": 1}}),
    "network_unknown.yaml": study(workload={"network": "gpt-17", "seq_len": 64}),
    "network_heads.yaml": study(workload={"network": "{W}/heads.json", "seq_len": 64}),
    "network_binary.yaml": study(workload={"network": "{W}/binary.json", "seq_len": 64}),
    "tokens_over_seq.yaml": study(hardware={"tokens": 128}),
    "heads.json": json.dumps({**BERT, "num_attention_heads": 128}),
    "binary.json": bytes(range(256)),
    "latin1.json": json.dumps({**BERT, "model_type": "b\u00e9rt"}, ensure_ascii=False).encode("latin-1"),
    "deep.json": "[" * 100000 + "]" * 100000,
    "not_object.json": "[1, 2]",
    "hidden_huge.json": json.dumps({**BERT, "hidden_size": 10**12}),
    "hidden_neg.json": json.dumps({**BERT, "hidden_size": -64}),
    "layers_huge.json": json.dumps({**BERT, "num_hidden_layers": 10**6}),
    "lacks.json": json.dumps({"model_type": "bert", "hidden_size": 64}),
    "type_unknown.json": json.dumps({**BERT, "model_type": "mamba"}),
    "not_a_db.txt": "name: not a database\n",
}

S, OUT = "{W}/good.yaml", "{W}/out"
RUN = ["run", S, "--out", OUT, "--no-progress"]
DB = "sqlite:///{W}/out/bad/study.db"
PG_DOWN = "postgresql://alice:s3cret@127.0.0.1:1/db"


def _study_file_cases():
    expect = {
        "binary": "not UTF-8", "latin1": "not UTF-8", "utf16": "not UTF-8", "nul": "study",
        "empty": "study", "list": "study", "scalar": "study", "deep_flow": "deeper than 64",
        "deep_block": "deeper than 64", "bomb": "more than 100000",
        "dup_key": "duplicate key 'n_trials'",
        "dup_nested": "duplicate key 'seq_len'", "python_apply": "python/object/apply",
        "python_name": "name:", "python_tag_field": "python/object/apply", "tabs": "study",
        "unclosed": "study", "big": "larger than", "seed_2_32": "seed", "seed_huge": "seed",
        "seed_neg": "seed", "seed_float": "seed", "seq_len_huge": "workload.seq_len: must be <= 32768",
        "seq_len_zero": "workload.seq_len", "seq_len_str": "workload.seq_len",
        "n_trials_zero": "n_trials", "n_trials_huge": "n_trials: must be <=",
        "n_trials_bool": "n_trials", "n_trials_str": "n_trials", "pop_one": "population_size",
        "search_pruner": "search.pruner", "search_checkpoint": "search.checkpoints[0]",
        "search_order": "search.checkpoints", "search_factor": "search.reduction_factor",
        "search_warm_steps": "search.warm_start_steps",
        "search_warm_axes": "search.warm_start_axes", "search_siblings": "search.siblings",
        "search_screen_one": "search.screen_steps",
        "search_promote": "search.promote_share",
        "search_promote_steps": "search.promote_steps",
        "search_placements": "search.screen_placements",
        "search_screen_start": "search.screen_start",
        "search_optimism_by": "search.optimism_by",
        "search_unknown": "search.warm",
        "pop_huge": "population_size", "sampler_bad": "sampler", "sampler_list": "sampler",
        "name_slash": "name", "name_empty": "name", "name_long": "name", "name_missing": "name",
        "name_dollar": "name", "unknown_top": "n_trails", "unknown_hw": "tcdm_kb",
        "clock_tiny": "clock_ghz", "clock_zero": "clock_ghz", "clock_huge": "clock_ghz",
        "tint_tiny": "integration_ns", "tint_huge": "integration_ns", "adc_kind": "adc_kind",
        "mapping": "attention.mapping",
        "clock_inf": "clock_ghz", "clock_nan": "clock_ghz", "tcdm_huge": "tcdm_kib",
        "tcdm_float": "tcdm_kib", "cores_huge": "compute_cores", "redmule_huge": "redmule_fma",
        "redmule_odd": "redmule_fma", "dma_tiny": "dma_bytes_per_cycle",
        "link_huge": "link_bytes_per_cycle", "energy_huge": "redmule_pj_per_mac",
        "tokens_huge": "hardware.tokens", "tokens_zero": "hardware.tokens", "rank_huge": "lora.rank",
        "rank_neg": "lora.rank", "alpha_huge": "lora.alpha", "dropout_one": "lora.dropout",
        "placement_bad": "placement", "hardware_list": "hardware", "objectives_empty": "objectives",
        "objective_unknown": "objectives[0].name", "objective_twice": "objectives",
        "objective_dir": "objectives[0].direction", "objective_at": "objectives[0].at",
        "objectives_str": "objectives", "constraint_inf": "constraints[0]",
        "constraint_nan": "constraints[0]", "constraint_bad": "constraints[0]",
        "constraint_code": "constraints[0]", "constraint_unknown": "constraints[0]",
        "constraint_needs_op": "constraints[0]", "storage_empty": "storage: empty URL",
        "storage_memory": "storage: 'sqlite://' is an in-memory",
        "storage_scheme": "storage: expected", "space_empty": "search_space",
        "space_list": "search_space", "space_unknown": "search_space.warp_factor",
        "space_group": "search_space.hardware.pmca", "space_both": "search_space.rank",
        "space_neither": "search_space.rank", "space_low_only": "search_space.rank",
        "space_low_high": "search_space.rank", "space_step_zero": "search_space.clock_ghz.step",
        "space_log_zero": "search_space.rank.low", "space_int_fraction": "search_space.tokens.low",
        "space_int_step_fraction": "search_space.tokens.step",
        "space_choices_empty": "search_space.rank.choices",
        "space_choices_repeat": "search_space.rank.choices",
        "space_choice_bad": "search_space.rank.choices[1]",
        "space_choice_type": "search_space.rank.choices[0]",
        "space_seq_len_huge": "search_space.seq_len.high", "space_clock_tiny": "search_space.clock_ghz",
        "space_alias_twice": "search_space.lora.rank", "space_file_missing": "search_space",
        "space_file_binary": "not UTF-8", "space_file_deep": "deeper than 64",
        "space_unknown_key": "search_space.rank.weights", "grid_huge": "grid sampler allows",
        "grid_no_step": "search_space", "network_unknown": "network", "network_heads": "heads",
        "network_binary": "not UTF-8", "tokens_over_seq": "tokens",
    }
    for name, want in expect.items():
        yield pytest.param(["run", f"{{W}}/{name}.yaml", "--out", OUT, "--no-progress"], want,
                           id=f"study:{name}")
    for name in ("dup_key", "clock_tiny", "seq_len_huge", "space_seq_len_huge"):
        yield pytest.param(["pareto", f"{{W}}/{name}.yaml", "--out", OUT], expect[name],
                           id=f"pareto-study:{name}")


def _set_cases():
    sets = {
        "seed=4294967296": "seed", "seed=-3": "seed", "n_trials=0": "n_trials",
        "n_trials=1e12": "n_trials", "workload.seq_len=1000000000": "workload.seq_len",
        "hardware.pmca.tcdm_kib=1e23": "hardware.pmca.tcdm_kib",
        "hardware.pmca.clock_ghz=1e-300": "hardware.pmca.clock_ghz",
        "hardware.pmca.clock_ghz=.nan": "hardware.pmca.clock_ghz",
        "hardware.pmca.nope=1": "hardware.pmca.nope", "hardware.tokens=[1, 2]": "hardware.tokens",
        "lora.rank=99999999999": "lora.rank", "sampler=grid9": "sampler",
        "name=a/b": "name", "nokey": "--set", "=3": "--set", "a..b=1": "--set",
        "name.sub=1": "--set name.sub", "n_trials=[1, 2": "--set n_trials",
        'x=!!python/object/apply:os.system ["touch {W}/PWNED"]': "--set x",
        "search_space={}": "search_space", "objectives=[]": "objectives",
        "constraints=['latency_us<=1e999']": "constraints[0]",
        "search_space.tokens={low: 8, high: 64, step: 0.5}": "search_space.tokens.step",
        "storage=sqlite://": "storage: 'sqlite://' is an in-memory",
        "x=" + "[" * 3000 + "]" * 3000: "deeper than 64",
        "n_trials={a: 1, a: 2}": "duplicate key",
    }
    for text, want in sets.items():
        yield pytest.param([*RUN, "--set", text], want, id=f"set:{text[:40]}")


def _flag_cases():
    flags = [
        (["run", S, "--n-trials", "0"], "--n-trials"),
        (["run", S, "--n-trials", "-5"], "--n-trials"),
        (["run", S, "--n-trials", "ten"], "--n-trials"),
        (["run", S, "--n-trials", "10000000000"], "--n-trials"),
        (["run", S, "--n-trials", "9" * 5000], "--n-trials"),
        (["run", S, "--heartbeat-s", "0"], "--heartbeat-s"),
        (["run", S, "--heartbeat-s", "99999999"], "--heartbeat-s"),
        (["run", S, "--bogus"], "--bogus"),
        (["run"], "STUDY.yaml"),
        (["run", "{W}/missing.yaml"], "file not found"),
        (["run", "{W}"], "is a folder"),
        (["run", S, "--out", "/dev/null"], "--out"),
        (["run", S, "--out", "{W}/good.yaml"], "--out"),
        (["run", S, "--out", "/proc/codesign-out"], "--out"),
        (["run", S, "--out", "{W}/good.yaml/sub"], "--out"),
        (["pareto", S, "--out", "/dev/null"], "--out"),
        (["pick", S, "--out", "{W}/good.yaml", "--require", "latency_us<=1e9"], "--out"),
        (["report", S, "--out", OUT, "--html", "/proc/codesign.html"], "--html"),
        (["report", S, "--out", OUT, "--html", "{W}"], "--html"),
        (["report", S, "--out", OUT, "--html", "{W}/good.yaml/r.html"], "--html"),
        (["report", S, "--out", "/dev/null"], "--out"),
        (["plot", S, "--out", OUT, "--format", "gif"], "--format"),
        (["plot", S, "--out", OUT, "--only", "nonsense"], "--only"),
        (["nonsense"], "nonsense"),
        (["latency"], "--layer"),
        (["latency", "--layer", "512"], "--layer"),
        (["latency", "--layer", "0x128"], "--layer"),
        (["latency", "--layer", "-1x128"], "--layer"),
        (["latency", "--layer", "axb"], "--layer"),
        (["latency", "--layer", "99999999999x99999999999"], "--layer"),
        (["latency", "--layer", "512x128x3"], "--layer"),
        (["latency", "--layer", "512x128", "--rank", "-1"], "--rank"),
        (["latency", "--layer", "512x128", "--tokens", "0"], "--tokens"),
        (["latency", "--layer", "512x128", "--tokens", "100000"], "tokens"),
        (["latency", "--layer", "512x128", "--seq-len", "1000000000"], "--seq-len"),
        (["latency", "--layer", "512x128", "--integration-ns", "nan"], "--integration-ns"),
        (["latency", "--layer", "512x128", "--integration-ns", "inf"], "--integration-ns"),
        (["latency", "--layer", "512x128", "--integration-ns", "-5"], "--integration-ns"),
        (["latency", "--layer", "512x128", "--clock-ghz", "1e-300"], "clock_ghz"),
        (["latency", "--layer", "512x128", "--clock-ghz", "1e300"], "clock_ghz"),
        (["latency", "--layer", "512x128", "--tcdm-kib", "100000000000000000000000"], "tcdm"),
        (["latency", "--layer", "512x128", "--redmule-fma", "7"], "redmule_fma"),
        (["latency", "--layer", "512x128", "--adc-bits", "99"], "adc_bits"),
        (["latency", "--layer", "512x128", "--engine", "spice"], "--engine"),
        (["latency", "--model", "gpt-17", "--rank", "8"], "network"),
        (["latency", "--model", "{W}/heads.json"], "heads"),
        (["latency", "--model", "{W}/binary.json"], "not UTF-8"),
        (["latency", "--model", "{W}/latin1.json"], "not UTF-8"),
        (["latency", "--model", "{W}/deep.json"], "nested too deeply"),
        (["latency", "--model", "{W}/not_object.json"], "network"),
        (["latency", "--model", "{W}/hidden_huge.json"], "hidden_size"),
        (["latency", "--model", "{W}/hidden_neg.json"], "hidden_size"),
        (["latency", "--model", "{W}/layers_huge.json"], "num_hidden_layers"),
        (["latency", "--model", "{W}/lacks.json"], "network"),
        (["latency", "--model", "{W}/type_unknown.json"], "model_type"),
        (["latency", "--model", "minilm-l6", "--placement", "everywhere"], "placement"),
        (["latency", "--config", "{W}/binary.yaml"], "not UTF-8"),
        (["latency", "--config", "{W}/dup_key.yaml"], "duplicate key"),
        (["latency", "--config", "{W}/missing.yaml"], "--config"),
        (["accuracy", "--workload", "{W}/binary.yaml", "--rank", "4"], "not UTF-8"),
        (["accuracy", "--workload", "{W}/dup_key.yaml", "--rank", "4"], "duplicate key"),
        (["accuracy", "--workload", "no-such-workload", "--rank", "4"], "--workload"),
        (["accuracy", "--rank", "-2"], "--rank"),
        (["accuracy", "--rank", "4", "--steps", "-1"], "--steps"),
        (["accuracy", "--rank", "4", "--draws", "0"], "--draws"),
        (["accuracy", "--rank", "4", "--device", "tpu"], "--device"),
        (["accuracy", "--rank", "4", "--digital-layers", "query key"], "--digital-layers"),
        (["latency", "--model", "minilm-l6", "--digital-layers", "qkey"],
         "--digital-layers (digital.layers: 'qkey' names no layer of minilm-l6"),
        (["latency", "--layer", "64x64", "--digital-layers", "ffn"], "--digital-layers"),
        (["latency", "--model", "minilm-l6", "--digital-layers", "top-2"], "--digital-ranking"),
        (["sensitivity", "--at", "1000y"], "--at: at most 100y"),
        (["sensitivity", "--draws", "0"], "--draws"),
        (["sensitivity", "--by", "head"], "--by"),
    ]
    for argv, want in flags:
        yield pytest.param(argv, want, id="flag:" + " ".join(argv)[:60])


def _storage_cases():
    urls = {
        "": "empty URL", "sqlite://": "in-memory", "sqlite:///": "in-memory",
        "sqlite:///:memory:": "in-memory", "sqlite:///{W}": "is a folder",
        "sqlite:///{W}/not_a_db.txt": "not a SQLite database",
        "sqlite:///{W}/truncated.db": "damaged", "sqlite:///{W}/sub/": "names no file",
        "mongodb://localhost/db": "expected sqlite", "http://example.com/db": "expected sqlite",
        "/tmp/study.db": "expected sqlite", "study.db": "expected sqlite",
        PG_DOWN: "cannot open", "postgresql://alice:p@ss@127.0.0.1:1/db": "%40",
        "postgresql://127.0.0.1:1/db?password=s3cret&user=alice": "cannot open",
        "postgresql:///db?host=127.0.0.1&port=1&sslpassword=s3cret&password=s3cret": "cannot open",
    }
    for url, want in urls.items():
        for cmd in ("run", "pareto"):
            argv = [cmd, S, "--out", OUT, "--storage", url] + (["--no-progress"] if cmd == "run" else [])
            yield pytest.param(argv, want, id=f"storage-{cmd}:{url[:50]}")
    for cmd in ("run", "pareto", "report", "plot"):
        yield pytest.param([cmd, S, "--out", OUT, "--storage", "sqlite:///{W}/foreign.db"],
                           "holds no codesign study", id=f"foreign-{cmd}")
    yield pytest.param(["pick", S, "--out", OUT, "--storage", "sqlite:///{W}/foreign.db",
                        "--require", "latency_us<=1e9"], "holds no codesign study", id="foreign-pick")
    yield pytest.param(["pareto", "{W}/other.yaml", "--out", OUT, "--storage", DB],
                       "does not exist", id="storage:other-study")


def _pick_cases():
    exprs = {
        "latency_us<=1e999": "--require", "latency_us<=nan": "--require",
        "latency_us<=inf": "--require", "latency_us=<3": "--require", "latency_us<<3": "--require",
        "speed<=3": "--require", "": "--require", "latency_us": "--require",
        "__import__('os').system('touch PWNED')": "--require", "latency_us<=1;rm -rf /": "--require",
        "accuracy@1x>=0.5": "--require", "latency_us<=3 or 1": "--require",
        "latency_us<=" + "9" * 500: "--require", "adapter_params@1d<=3": "--require",
    }
    for text, want in exprs.items():
        yield pytest.param(["pick", S, "--out", OUT, "--require", text], want, id=f"pick:{text[:30]}")
    yield pytest.param(["pick", S, "--out", OUT, "--prefer", "speed"], "--prefer", id="pick:prefer")


CASES = [*_study_file_cases(), *_set_cases(), *_flag_cases(), *_storage_cases(), *_pick_cases()]


def test_the_table_is_large():
    assert len(CASES) >= 150


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    w = tmp_path_factory.mktemp("bad-inputs")
    for name, content in FILES.items():
        if isinstance(content, str):
            (w / name).write_text(content.replace("{W}", str(w)))
        else:
            (w / name).write_bytes(content)
    (w / "good.yaml").write_text(study())
    (w / "other.yaml").write_text(study(name="other"))
    assert main(["run", str(w / "good.yaml"), "--out", str(w / "out"), "--no-progress"]) == 0
    db = w / "out" / "bad" / "study.db"
    data = db.read_bytes()
    (w / "truncated.db").write_bytes(data[: len(data) // 2])
    con = sqlite3.connect(w / "foreign.db")
    con.execute("CREATE TABLE notes (x TEXT)")
    con.execute("INSERT INTO notes VALUES ('mine')")
    con.commit()
    con.close()
    shutil.rmtree(w / "out" / ".cache", ignore_errors=True)
    return w


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("argv, expect", CASES)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(workspace, capsys, argv, expect):
    assert_refused(workspace, capsys, [a.replace("{W}", str(workspace)) for a in argv], expect)


def assert_refused(workspace: Path, capsys, argv: list[str], expect: str) -> None:
    """``codesign ARGV`` ends in one line naming ``expect``, exit 2, and the workspace keeps
    every byte (nothing stored, written or executed)."""
    before = snapshot(workspace)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("codesign"), err
    assert "Traceback" not in err
    assert expect.replace("{W}", str(workspace)) in lines[0], err
    assert "s3cret" not in err and "p@ss" not in err and "ss@127" not in err
    assert snapshot(workspace) == before  # nothing stored, written or executed
    assert not (workspace / PWNED).exists() and not Path(PWNED).exists()


CORPUS = Path(__file__).parent / "data" / "bad_inputs"
CORPUS_CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())
#: the kinds of issue 20 the corpus must hold (each with at least two inputs)
KINDS = ("flag-bound", "network-config", "data-file", "workload-yaml", "too-short", "ignored",
         "drift-time", "settings-bound", "artifacts", "cache", "picked-config",
         "space-value", "digital-layers")


def test_the_corpus_covers_every_kind():
    counts = {kind: sum(c["kind"] == kind for c in CORPUS_CASES) for kind in KINDS}
    assert all(n >= 1 for n in counts.values()), counts
    assert {c["kind"] for c in CORPUS_CASES} == set(KINDS)
    assert len(CORPUS_CASES) >= 80


def _fill(value, workspace: Path):
    """``{D}`` -> the corpus folder, ``{W}`` -> the workspace, in every string of ``value``."""
    if isinstance(value, str):
        return value.replace("{D}", str(CORPUS)).replace("{W}", str(workspace))
    if isinstance(value, list):
        return [_fill(v, workspace) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, workspace) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CORPUS_CASES,
                         ids=[f"{c['kind']}:{' '.join(map(str, c['argv']))[:50]}:"
                              f"{str(c.get('study') or c.get('workload') or '')[:50]}"
                              for c in CORPUS_CASES])
def test_corpus_case(workspace, capsys, monkeypatch, case):
    """Each input of tests/data/bad_inputs/cases.yaml: one line naming the field or flag, exit 2,
    nothing stored changed (the inputs of the accuracy model fail before any training)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    argv = _fill(case["argv"], workspace)
    if "study" in case:
        data = {**GOOD, **_fill(case["study"], workspace)}
        (workspace / "case.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    if "workload" in case:
        (workspace / "workload.yaml").write_text(yaml.safe_dump(_fill(case["workload"], workspace)))
        argv += ["--workload", str(workspace / "workload.yaml")]
    if argv[0] == "accuracy":
        argv += ["--quiet"] + ([] if "--cache-dir" in argv else
                               ["--cache-dir", str(workspace / "cache")])
        argv += [] if "--device" in argv else ["--device", "cpu"]
    if argv[0] == "run":
        argv += ["--no-progress"]
    assert_refused(workspace, capsys, argv, case["expect"])


VALID = {
    "int-range": {"search_space": {"tokens": {"low": 8, "high": 64}}},
    "int-range-step": {"search_space": {"tokens": {"low": 8, "high": 64, "step": 8}}},
    "seq-len-range": {"search_space": {"seq_len": {"low": 64, "high": 256}}},
    "int-range-grid": {"sampler": "grid", "search_space": {"tokens": {"low": 8, "high": 32,
                                                                      "step": 8}}},
    "largest-seed": {"seed": 2**32 - 1},
}


@pytest.mark.parametrize("changes", VALID.values(), ids=VALID)
def test_valid_edge_inputs_run_and_resume(tmp_path, changes, capsys):
    """Documented inputs that once crashed: integer range axes, seq_len ranges, the largest seed
    (also on resume, when worker seeds pass 2**32)."""
    path = tmp_path / "s.yaml"
    path.write_text(study(**changes))
    argv = ["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    assert main([*argv, "--n-trials", "3"]) == 0, capsys.readouterr().err
    table = (tmp_path / "out" / "bad" / "trials.csv").read_text().splitlines()
    assert len(table) == 1 + 3 and all(",COMPLETE," in row for row in table[1:])
