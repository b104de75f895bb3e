"""``codesign accuracy``: bad input is one line and exit 2; a tiny run prints the contract keys."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("aihwkit")
    sys.path.insert(0, str(ROOT / "tests" / "accuracy"))
    from tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-bert-cli"))


def _cli(*args, env_extra=None, timeout=300):
    import os

    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "codesign", "accuracy", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)


def test_help_teaches_by_example():
    out = _cli("--help")
    assert out.returncode == 0 and "examples:" in out.stdout and "--drift-times" in out.stdout


@pytest.mark.parametrize("args,word", [
    (["--rank", "0"], "--rank"),
    (["--rank", "-3"], "--rank"),
    (["--rank", "2", "--placement", "sideways"], "placement"),
    (["--rank", "2", "--drift-times", "0s", "soon"], "--drift-times"),
    (["--rank", "2", "--workload", "no-such-workload"], "--workload"),
    (["--rank", "2", "--adc-bits", "0"], "--adc-bits"),
    (["--rank", "2", "--integration-ns", "0"], "--integration-ns"),
    (["--rank", "2", "--set", "noise.train_integration=sometimes"], "noise.train_integration"),
    (["--rank", "2", "--set", "noise.clip_sigmaa=0"], "noise.clip_sigmaa: unknown key"),
    (["--rank", "2", "--set", "noise.clip_sigma=-1"], "noise.clip_sigma"),
    (["--rank", "2", "--set", "training.steps=many"], "training.steps"),
    (["--rank", "2", "--set", "steps"], "--set"),
])
def test_bad_input_one_line_exit_2(args, word):
    out = _cli(*args)
    assert out.returncode == 2, out.stderr
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and word in lines[0] and "Traceback" not in out.stderr


def test_unknown_model_in_yaml_is_one_line(tmp_path):
    wl = tmp_path / "wl.yaml"
    wl.write_text("model: /no/such/model\n")
    out = _cli("--workload", str(wl), "--rank", "2", "--cache-dir", str(tmp_path / "c"),
               "--quiet")
    assert out.returncode == 2 and "workload.model" in out.stderr
    assert len([x for x in out.stderr.splitlines() if x.strip()]) == 1
    wl.write_text("modle: x\n")
    out = _cli("--workload", str(wl), "--rank", "2")
    assert out.returncode == 2 and "workload.modle: unknown key" in out.stderr


def test_tiny_run_json_contract(tiny_model, tmp_path):
    wl = tmp_path / "tiny.yaml"
    wl.write_text(f"name: tiny\nmodel: {tiny_model}\ntask: fidelity\nmax_seq_len: 24\n"
                  "n_train: 16\nn_eval: 8\n")
    args = ["--workload", str(wl), "--rank", "2", "--placement", "qkv", "--adc-bits", "6",
            "--steps", "2", "--drift-times", "0s", "1d", "--draws", "1", "--device", "cpu",
            "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    out = _cli(*args, "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    for key in ("digital", "analog_before", "analog_after", "trainable_params", "total_params",
                "metric"):
        assert key in d
    assert list(d["analog_after"]) == ["0s", "1d"] and d["metric"] == "cosine_fidelity"
    table = _cli(*args)
    assert table.returncode == 0 and "analog after" in table.stdout and "(adapters from cache)" \
        in table.stdout


def _picked(path: Path, **design) -> Path:
    """A picked.yaml as `codesign pick` writes it (its design: is a DesignPoint as a mapping)."""
    import dataclasses

    import yaml

    from codesign.decode import decode
    from codesign.config.study import DesignPoint

    point = decode(DesignPoint, design, "design")
    path.write_text(yaml.safe_dump({"study": "s", "trial": 3, "design": dataclasses.asdict(point)}))
    return path


def _request(*argv):
    from codesign.cli import build_parser
    from codesign.cli.accuracy import build_request

    return build_request(build_parser().parse_args(["accuracy", *argv]))


def test_config_gives_the_picked_point_and_flags_override_it(tmp_path):
    pytest.importorskip("torch")
    picked = _picked(tmp_path / "picked.yaml", lora={"rank": 4, "placement": "ffn"},
                     hardware={"aimc": {"adc_bits": 6, "dac_bits": 7}},
                     accuracy={"training": {"steps": 11}},
                     workload={"accuracy": {"n_eval": 9}})
    workload, aimc, lora, settings = _request("--config", str(picked))
    assert (lora.rank, lora.placement, aimc.adc_bits, aimc.dac_bits) == (4, "ffn", 6, 7)
    assert settings.training.steps == 11 and workload.n_eval == 9
    workload, aimc, lora, settings = _request("--config", str(picked), "--rank", "2",
                                              "--adc-bits", "8", "--steps", "5")
    assert (lora.rank, lora.placement, aimc.adc_bits, aimc.dac_bits) == (2, "ffn", 8, 7)
    assert settings.training.steps == 5 and workload.n_eval == 9


def test_set_overrides_settings_and_no_flag_default_overrides_a_set():
    _, _, _, settings = _request("--rank", "2", "--set", "noise.clip_sigma=0",
                                 "--set", "evaluation.drift_times=[1d, 1y]",
                                 "--set", "training.steps=7", "--lr", "0.01")
    assert settings.noise.clip_sigma == 0.0 and settings.evaluation.drift_times == ("1d", "1y")
    assert settings.training.steps == 7 and settings.noise.out_noise == 0.04
    assert settings.training.lr == 0.01
    # --mode and --device have defaults; a --set of their fields is no longer overridden by them
    _, _, _, settings = _request("--rank", "2", "--set", "training.mode=full_ahwa",
                                 "--set", "device=cpu")
    assert settings.training.mode == "full_ahwa" and settings.device == "cpu"


def test_a_set_that_a_given_flag_also_sets_is_refused():
    from codesign.errors import InputError

    with pytest.raises(InputError, match=r"--set training.steps: also given by --steps"):
        _request("--rank", "2", "--set", "training.steps=7", "--steps", "9")
    with pytest.raises(InputError, match=r"--set training.mode: also given by --mode"):
        _request("--rank", "2", "--set", "training.mode=full_ahwa", "--mode", "lora")


def test_config_keeps_its_mode_and_device_unless_a_flag_is_given(tmp_path):
    picked = _picked(tmp_path / "picked.yaml", lora={"rank": 4},
                     accuracy={"device": "cpu", "training": {"mode": "full_ahwa"}})
    _, _, _, settings = _request("--config", str(picked))
    assert settings.training.mode == "full_ahwa" and settings.device == "cpu"
    _, _, _, settings = _request("--config", str(picked), "--mode", "lora")
    assert settings.training.mode == "lora"


@pytest.mark.parametrize("flag, path", [
    ("--steps", "accuracy.training.steps"), ("--draws", "accuracy.evaluation.n_draws"),
    ("--batch-size", "accuracy.training.batch_size"), ("--seed", "accuracy.training.seed"),
    ("--adc-bits", "hardware.aimc.adc_bits"), ("--dac-bits", "hardware.aimc.dac_bits"),
    ("--adapt-from-bits", "hardware.aimc.adc_bits"), ("--integration-ns",
                                                      "hardware.aimc.integration_ns"),
    ("--lr", "accuracy.training.lr")])
def test_each_numeric_flag_takes_exactly_its_study_fields_bounds(flag, path):
    """A flag accepts its field's largest value and refuses the next one (and the same below)."""
    from codesign.cli import build_parser
    from codesign.cli._common import field_spec

    kind, meta = field_spec(path)
    parser = build_parser()
    base = ["accuracy", "--rank", "2"]
    for bound, step, inside in (("le", 1, True), ("ge", -1, True), ("lt", 0, False),
                                ("gt", 0, False)):
        value = meta.get(bound)
        if value is None:
            continue
        edge = kind(value)
        if inside:
            parser.parse_args([*base, flag, str(edge)])
            beyond = edge + step if kind is int else edge * (1.5 if step > 0 else 0.5)
        else:
            beyond = edge
        with pytest.raises(SystemExit):
            parser.parse_args([*base, flag, str(beyond)])


def test_rank_is_required_without_config():
    out = _cli("--placement", "qkv")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "--rank" in out.stderr


def test_picked_yaml_reruns_from_its_study_cache(tiny_model, tmp_path):
    """codesign accuracy --config results/<study>/picked.yaml uses results/.cache/accuracy."""
    folder = tmp_path / "results" / "s"
    folder.mkdir(parents=True)
    picked = _picked(folder / "picked.yaml", lora={"rank": 2, "placement": "qkv"},
                     accuracy={"device": "cpu", "training": {"steps": 2, "batch_size": 8},
                               "evaluation": {"drift_times": ["1d"], "n_draws": 1}},
                     workload={"accuracy": {"name": "tiny", "model": tiny_model,
                                            "task": "fidelity", "max_seq_len": 24,
                                            "n_train": 16, "n_eval": 8}})
    study_cache = tmp_path / "results" / ".cache" / "accuracy"
    study_cache.mkdir(parents=True)  # as `codesign run --out results` leaves it
    env = {"CODESIGN_CACHE": str(tmp_path / "user-cache")}
    first = _cli("--config", str(picked), "--json", "--quiet", env_extra=env)
    assert first.returncode == 0, first.stderr
    assert any(study_cache.iterdir()) and not (tmp_path / "user-cache").exists()
    again = json.loads(_cli("--config", str(picked), "--json", "--quiet", env_extra=env).stdout)
    assert again["cache_hit"] and again["analog_after"] == json.loads(first.stdout)["analog_after"]
