"""`codesign latency` contract (docs/reference/contract.md): exit codes, JSON keys, help."""

from __future__ import annotations

import json

import pytest

from codesign.cli import main

CONTRACT = {"aimc_ns", "pmca_ns", "ratio", "total_ns", "aimc_only_ns", "overhead", "tcdm_bytes",
            "tcdm_fits", "energy_pj"}


def exit_code(argv) -> int:
    """main()'s return code, or argparse's exit status for a usage error."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def run_json(capsys, *argv):
    assert main(["latency", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_layer_json_has_exactly_contract_keys(capsys):
    out = run_json(capsys, "--layer", "512x128", "--rank", "8", "--integration-ns", "512",
                   "--tokens", "8")
    assert set(out) == CONTRACT
    assert out["ratio"] == pytest.approx(out["pmca_ns"] / out["aimc_ns"])
    assert out["overhead"] == pytest.approx(out["total_ns"] / out["aimc_only_ns"])
    assert out["aimc_ns"] == 8 * (512 + 8 + 5)    # default tile: + 8-bit SAR, 5 ns readout
    assert out["ratio"] == pytest.approx(0.70, abs=0.02)
    assert isinstance(out["tcdm_bytes"], int) and out["tcdm_fits"] is True


def test_layer_engines_agree(capsys):
    a = run_json(capsys, "--layer", "512x128", "--tokens", "16", "--engine", "des")
    b = run_json(capsys, "--layer", "512x128", "--tokens", "16", "--engine", "closed_form")
    assert a["total_ns"] == pytest.approx(b["total_ns"], rel=1e-9)


def test_model_json_adds_layers(capsys):
    out = run_json(capsys, "--model", "minilm-l6", "--rank", "4", "--placement", "qkv",
                   "--tokens", "16", "--seq-len", "64")
    assert CONTRACT | {"layers"} <= set(out)   # every contract key; size keys are added
    assert {L["role"] for L in out["layers"] if L["rank"] > 0} == {"query", "key", "value"}
    assert out["overhead"] >= 1.0


def test_model_role_list_and_table(capsys):
    assert main(["latency", "--model", "bert-base", "--placement", "query,value", "--tokens",
                 "32", "--seq-len", "128", "--engine", "closed_form"]) == 0
    text = capsys.readouterr().out
    assert "bert-base" in text and "attention.self" not in text and "query" in text


def test_layer_table(capsys):
    assert main(["latency", "--layer", "128x128", "--rank", "0"]) == 0
    assert "overhead" in capsys.readouterr().out


@pytest.mark.parametrize("argv, flag", [
    (["--layer", "0x128"], "--layer"),
    (["--layer", "512by128"], "--layer"),
    (["--layer", "512x128", "--tokens", "400"], "--tokens"),
    (["--layer", "512x128", "--tokens", "0"], "--tokens"),
    (["--layer", "512x128", "--rank", "-1"], "--rank"),
    (["--layer", "512x128", "--integration-ns", "-5"], "--integration-ns"),
    (["--layer", "512x128", "--adc-bits", "20"], "--adc-bits"),
    (["--layer", "512x128", "--redmule-fma", "6"], "--redmule-fma"),
    (["--model", "gpt-17"], "--model"),
    (["--model", "bert-base", "--placement", "everywhere"], "--placement"),
    (["--model", "bert-base", "--placement", "query,nope"], "--placement"),
    (["--layer", "512x128", "--engine", "magic"], "--engine"),
    ([], "--layer"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, flag):
    assert exit_code(["latency", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert flag in err


def test_help_teaches(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["latency", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "--layer 512x128" in text and "--model" in text


def test_generate_adds_decode_figures(capsys):
    out = run_json(capsys, "--model", "llama-3.1-8b", "--seq-len", "128", "--generate", "4",
                   "--tokens", "16")
    assert CONTRACT <= set(out)
    assert {"decode_ns_per_token", "decode_aimc_only_ns_per_token", "kv_cache_bytes"} <= set(out)
    assert out["decode_ns_per_token"] >= out["decode_aimc_only_ns_per_token"] > 0
    assert out["kv_cache_bytes"] == 32 * 2 * 8 * 128 * 2 * (128 + 4)
    assert main(["latency", "--model", "llama-3.1-8b", "--seq-len", "128", "--generate", "4"]) == 0
    assert "us/token" in capsys.readouterr().out


@pytest.mark.parametrize("argv, flag", [
    (["--layer", "512x128", "--generate", "4"], "--generate"),
    (["--model", "mobilebert", "--generate", "4"], "--generate"),
    (["--model", "mobilebert", "--attention", "everywhere"], "--attention"),
    (["--model", "mobilebert", "--tile", "tpu"], "--tile"),
])
def test_decode_and_mapping_bad_input(capsys, argv, flag):
    assert exit_code(["latency", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert flag in err and len(err.splitlines()) == 1


def test_tile_preset_and_attention_mapping(capsys):
    paper = run_json(capsys, "--layer", "512x128", "--tile", "paper", "--integration-ns", "512",
                     "--tokens", "8")
    assert paper["aimc_ns"] == 8 * 512          # the paper: an MVM takes the integration time
    hermes = run_json(capsys, "--layer", "512x128", "--tile", "hermes", "--tokens", "8")
    assert hermes["aimc_ns"] == pytest.approx(8 * 133, rel=0.01)
    qkv = run_json(capsys, "--model", "mobilebert", "--attention", "qkv")
    upstream = run_json(capsys, "--model", "mobilebert", "--attention", "upstream")
    assert qkv["total_ns"] > upstream["total_ns"]    # 3 clusters for 4 heads: two rounds


def test_hermes_layer_without_adapter(capsys):
    """Issue 21, item 6: ~130 ns per MVM at steady state and overhead exactly 1.0 at rank 0."""
    for engine in ("des", "closed_form"):
        out = run_json(capsys, "--tile", "hermes", "--layer", "256x256", "--rank", "0",
                       "--engine", engine)
        assert out["total_ns"] / 320 == pytest.approx(130, rel=0.10)
        assert out["overhead"] == 1.0 and out["aimc_only_ns"] == out["total_ns"]


@pytest.mark.parametrize("flag, path", [
    ("--rank", "lora.rank"), ("--tokens", "hardware.tokens"), ("--seq-len", "workload.seq_len"),
    ("--generate", "workload.generate"), ("--tcdm-kib", "hardware.pmca.tcdm_kib"),
    ("--redmule-fma", "hardware.pmca.redmule_fma"), ("--clock-ghz", "hardware.pmca.clock_ghz"),
    ("--integration-ns", "hardware.aimc.integration_ns"), ("--adc-bits", "hardware.aimc.adc_bits"),
    ("--dac-bits", "hardware.aimc.dac_bits")])
def test_each_numeric_flag_takes_exactly_its_study_fields_bounds(flag, path, capsys):
    """The flag accepts the largest and smallest value of the study file's field and refuses the
    next ones, with one line naming the flag and the field."""
    from codesign.cli import build_parser
    from codesign.cli._common import field_spec

    kind, meta = field_spec(path)
    parser = build_parser()
    base = ["latency", "--layer", "64x64"]
    for bound, sign in (("le", 1), ("ge", -1)):
        edge = kind(meta[bound])
        parser.parse_args([*base, flag, str(edge)])
        beyond = edge + sign if kind is int else edge * (1.5 if sign > 0 else 0.5)
        with pytest.raises(SystemExit):
            parser.parse_args([*base, flag, str(beyond)])
        err = capsys.readouterr().err
        assert flag in err and path in err and err.count("\n") == 1
