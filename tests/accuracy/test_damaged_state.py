"""Checkpoints and cache entries that were damaged or crafted: nothing from them runs, they are
refused with one line and recomputed (issue 20, items 1 and 5); interrupted trainings resume from
their last checkpoint (item 7)."""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
from pathlib import Path

import pytest
import torch

from codesign.accuracy import cache, integrity, state_io
from codesign.accuracy.engine import TrainPlan, evaluate
from hw_models.specs import AimcTileSpec, LoraSpec

LORA = LoraSpec(rank=2)
STEPS = 4


class Evil:
    """A pickle that runs a shell command when unpickled (what torch.load(weights_only=False)
    did with a state.pt)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _evil_bytes(marker: Path) -> bytes:
    return pickle.dumps(Evil(marker))


def test_the_crafted_payload_is_live(tmp_path):
    """The control: unpickled, the payload does run (so its absence below means something)."""
    marker = tmp_path / "ran"
    pickle.loads(_evil_bytes(marker))
    assert marker.exists()


@pytest.fixture
def settings(small_settings):
    from codesign.accuracy import with_overrides

    return with_overrides(small_settings, **{"training.steps": STEPS,
                                             "evaluation.drift_times": ("1d",),
                                             "evaluation.n_draws": 1})


class Stop(Exception):
    pass


def _interrupted(workload, settings, cache_dir, rungs=(2,)):
    """A training killed right after its checkpoint at step 2 was cached (no pruner)."""
    key = cache.train_key(workload, AimcTileSpec(), LORA, settings)

    def kill(step, folder):
        raise Stop(step)

    with pytest.raises(Stop):
        evaluate(workload, AimcTileSpec(), LORA, settings, cache_dir, progress=False,
                 plan=TrainPlan(rungs=rungs, adapter_key=key, on_checkpoint=kill))
    folder = cache.checkpoint_dir(cache_dir, key, 2)
    assert cache.has_checkpoint(cache_dir, key, 2) and not cache.has_adapter(cache_dir, key)
    return key, folder


def _run(workload, settings, cache_dir, key, rungs=(2,)):
    return evaluate(workload, AimcTileSpec(), LORA, settings, cache_dir, progress=False,
                    plan=TrainPlan(rungs=rungs, adapter_key=key))


def _adapter(cache_dir, key):
    from safetensors.torch import load_file

    return load_file(str(cache.adapter_dir(cache_dir, key) / "adapter_model.safetensors"))


def test_a_killed_training_without_pruner_resumes_from_its_checkpoint_exactly(
        tiny_workload, settings, tmp_path):
    key, folder = _interrupted(tiny_workload, settings, tmp_path / "a")
    assert sorted(p.name for p in folder.iterdir()) == [
        "adapter_config.json", "adapter_model.safetensors", "meta.json", "state.json",
        "state.safetensors"]                                        # no pickle anywhere
    assert json.loads((folder / "meta.json").read_text())["proxy"] is None  # no pruner: no proxy
    resumed = _run(tiny_workload, settings, tmp_path / "a", key)
    assert resumed.ok and resumed.extras["steps_computed"] == STEPS - 2
    # the same adapters and numbers as one uninterrupted training (the state survived JSON)
    whole = _run(tiny_workload, settings, tmp_path / "b", key)
    assert whole.extras["steps_computed"] == STEPS
    a, b = _adapter(tmp_path / "a", key), _adapter(tmp_path / "b", key)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.analog_after == whole.analog_after


@pytest.mark.parametrize("craft", ["state.pt beside", "pickle as state.safetensors",
                                   "pickle as state.json", "re-hashed tags",
                                   "re-hashed foreign optimiser", "truncated adapter",
                                   "garbage meta"])
def test_a_crafted_or_damaged_local_checkpoint_runs_nothing_and_is_recomputed(
        tiny_workload, settings, tmp_path, capfd, craft):
    cache_dir = tmp_path / "cache"
    marker = tmp_path / "pwned"
    key, folder = _interrupted(tiny_workload, settings, cache_dir)
    evil = _evil_bytes(marker)
    if craft == "state.pt beside":                    # the old format: never read any more
        (folder / "state.pt").write_bytes(evil)
    elif craft == "pickle as state.safetensors":
        (folder / "state.safetensors").write_bytes(evil)
    elif craft == "pickle as state.json":
        (folder / "state.json").write_bytes(evil)
    elif craft.startswith("re-hashed"):               # whoever crafts it fixes the digests too
        data = json.loads((folder / "state.json").read_text())
        if craft == "re-hashed tags":
            data["optimizer"] = {"$pickle": evil.hex()}
        else:
            data["optimizer"]["param_groups"][0]["params"] = [0]
        (folder / "state.json").write_text(json.dumps(data))
        meta = json.loads((folder / "meta.json").read_text())
        meta["files"] = integrity.manifest(folder)
        (folder / "meta.json").write_text(json.dumps(meta))
    elif craft == "truncated adapter":
        blob = (folder / "adapter_model.safetensors").read_bytes()
        (folder / "adapter_model.safetensors").write_bytes(blob[: len(blob) // 2])
    else:
        (folder / "meta.json").write_text("{not json")
    capfd.readouterr()
    result = _run(tiny_workload, settings, cache_dir, key)
    err = capfd.readouterr().err
    assert not marker.exists()
    assert result.ok
    if craft == "state.pt beside":                    # the checkpoint itself is intact: used
        assert result.extras["steps_computed"] == STEPS - 2 and "damaged" not in err
        return
    assert result.extras["steps_computed"] == STEPS     # recomputed from step 0
    lines = [x for x in err.splitlines() if "damaged" in x]
    assert len(lines) == 1 and lines[0].startswith("codesign: checkpoint ") \
        and "discarded, recomputing" in lines[0], err
    assert "Traceback" not in err
    # a fresh checkpoint replaced it, and it is used the next time
    assert cache.has_checkpoint(cache_dir, key, 2)


def _bad_adapter(folder: Path, kind: str) -> None:
    path = folder / "adapter_model.safetensors"
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif kind == "garbage":
        path.write_bytes(os.urandom(path.stat().st_size))
    elif kind == "missing":
        path.unlink()
    elif kind == "no meta":
        (folder / "meta.json").unlink()
    elif kind == "other shape, re-hashed":           # digests fixed: caught when it is loaded
        from safetensors.torch import load_file, save_file

        tensors = {k: torch.zeros(3, 3) for k in load_file(str(path))}
        save_file(tensors, str(path))
        meta = json.loads((folder / "meta.json").read_text())
        meta["files"] = integrity.manifest(folder)
        (folder / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("kind", ["truncated", "garbage", "missing", "no meta",
                                  "other shape, re-hashed"])
def test_a_damaged_cached_adapter_is_discarded_and_retrained(tiny_workload, settings, tmp_path,
                                                             capfd, kind):
    from codesign.accuracy import evaluate_accuracy

    first = evaluate_accuracy(tiny_workload, AimcTileSpec(), LORA, settings, tmp_path,
                              progress=False, use_result_cache=False)
    key = cache.train_key(tiny_workload, AimcTileSpec(), LORA, settings)
    _bad_adapter(cache.adapter_dir(tmp_path, key), kind)
    capfd.readouterr()
    again = evaluate_accuracy(tiny_workload, AimcTileSpec(), LORA, settings, tmp_path,
                              progress=False, use_result_cache=False)
    err = capfd.readouterr().err
    assert again.ok and not again.cache_hit and again.extras["steps_computed"] == STEPS
    assert again.analog_after == first.analog_after        # the same training, recomputed
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codesign: adapter ") and \
        "discarded, recomputing" in lines[0], err
    # and it is fine afterwards: the next request is a cache hit, silently
    third = evaluate_accuracy(tiny_workload, AimcTileSpec(), LORA, settings, tmp_path,
                              progress=False, use_result_cache=False)
    assert third.cache_hit and capfd.readouterr().err == ""


@pytest.mark.parametrize("content", ["", "{trunc", "{}", "[]", "null", '{"status": "ok"}',
                                     "missing drift time", "a mean that is text"])
def test_an_empty_or_broken_result_file_is_never_taken_as_a_result(
        tiny_workload, settings, tmp_path, capfd, content):
    from codesign.accuracy import evaluate_accuracy

    first = evaluate_accuracy(tiny_workload, AimcTileSpec(), LORA, settings, tmp_path,
                              progress=False)
    key = cache.result_key(cache.train_key(tiny_workload, AimcTileSpec(), LORA, settings),
                           settings, AimcTileSpec())
    path = cache.result_path(tmp_path, key)
    data = json.loads(path.read_text())
    if content == "missing drift time":
        data["analog_after"] = {}
        content = json.dumps(data)
    elif content == "a mean that is text":
        data["digital"]["1d"]["mean"] = "0.9"
        content = json.dumps(data)
    path.write_text(content)
    capfd.readouterr()
    again = evaluate_accuracy(tiny_workload, AimcTileSpec(), LORA, settings, tmp_path,
                              progress=False)
    err = capfd.readouterr().err
    assert again.ok and again.analog_after == first.analog_after
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codesign: result file "), err
    assert json.loads(path.read_text())["analog_after"] == first.analog_after  # rewritten


def test_state_files_refuse_anything_but_data(tmp_path):
    state = {"step": 2, "optimizer": {"state": {0: {"step": torch.tensor(2.0),
                                                     "exp_avg": torch.ones(3)}},
                                       "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999),
                                                         "params": [0]}]},
             "schedule": {"last_epoch": 2, "lr_lambdas": [None]},
             "python_rng": __import__("random").Random(1).getstate(),
             "torch_rng": torch.get_rng_state()}
    state_io.save(state, tmp_path)
    back = state_io.load(tmp_path)
    assert back["optimizer"]["state"][0]["exp_avg"].tolist() == [1.0, 1.0, 1.0]
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert back["python_rng"] == state["python_rng"]
    with pytest.raises(TypeError, match="without pickle"):
        state_io.save({**state, "extra": object()}, tmp_path / "x")
    for bad in ({**json.loads((tmp_path / "state.json").read_text()), "step": {"$eval": "1"}},
                {**json.loads((tmp_path / "state.json").read_text()), "step": -1},
                {**json.loads((tmp_path / "state.json").read_text()),
                 "torch_rng": {"$tensor": "nope"}},
                {**json.loads((tmp_path / "state.json").read_text()), "python_rng": [1, 2]}):
        (tmp_path / "state.json").write_text(json.dumps(bad))
        with pytest.raises(integrity.Damaged) as info:
            state_io.load(tmp_path)
        assert info.value.path == tmp_path and "\n" not in info.value.why


# -- the artifact store ------------------------------------------------------------------------

class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def release(self):
        pass


def _ledger(tmp_path, steps=STEPS):
    import optuna

    from codesign.config.search import SearchSettings
    from codesign.study.ledger import Ledger

    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    return Ledger(storage, lambda name: _NoLock(), "s", "maximize",
                  SearchSettings(checkpoints=(0.5,)), str(tmp_path / "store"), steps)


def _repack(blob: Path, marker: Path) -> None:
    """Rewrite an artifact tar in place: a state.pt that runs code and a garbage state."""
    with tarfile.open(blob) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(blob, "w") as tar:
        for m, data in members + [(tarfile.TarInfo("state.pt"), _evil_bytes(marker))]:
            if m.name == "state.safetensors":
                data = _evil_bytes(marker)
            m.size = len(data)
            tar.addfile(m, io.BytesIO(data))


@pytest.mark.parametrize("damage", ["re-packed", "missing", "truncated"])
def test_a_crafted_or_missing_artifact_is_refused_and_the_checkpoint_recomputed(
        tiny_workload, settings, tmp_path, capfd, damage):
    ledger = _ledger(tmp_path)
    assert ledger.rungs == (2,)                           # checkpoints without a pruner
    marker = tmp_path / "pwned"
    key, folder = _interrupted(tiny_workload, settings, tmp_path / "machine-a")
    ledger.put("checkpoint", f"{key}@2", folder)
    digest = ledger.study.user_attrs[f"checkpoint:{key}@2:digest"]
    blob = tmp_path / "store" / ledger.study.user_attrs[f"checkpoint:{key}@2"]
    assert digest == integrity.file_digest(blob)
    # an intact artifact arrives whole on another machine
    ledger.fetch_checkpoints(tmp_path / "machine-c", key)
    assert cache.has_checkpoint(tmp_path / "machine-c", key, 2)
    if damage == "re-packed":
        _repack(blob, marker)
    elif damage == "missing":
        blob.unlink()
    else:
        blob.write_bytes(blob.read_bytes()[:1000])
    other = tmp_path / "machine-b"
    capfd.readouterr()
    ledger.fetch_checkpoints(other, key)
    err = capfd.readouterr().err
    assert not cache.checkpoint_dir(other, key, 2).exists()
    assert not (other.exists() and list(other.rglob("state.pt")))
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"codesign: artifact checkpoint:{key}@2 ") \
        and "not used, recomputing" in lines[0], err
    assert ledger.wants("checkpoint", f"{key}@2")        # to be uploaded again
    result = _run(tiny_workload, settings, other, key)
    assert result.ok and result.extras["steps_computed"] == STEPS
    assert not marker.exists()
    ledger.put("checkpoint", f"{key}@2", cache.checkpoint_dir(other, key, 2))
    assert not ledger.wants("checkpoint", f"{key}@2")
    assert ledger.get("checkpoint", f"{key}@2", tmp_path / "fresh" / "step-2")
    assert not marker.exists()


def test_an_artifact_without_a_recorded_digest_is_refused(tiny_workload, settings, tmp_path,
                                                          capfd):
    ledger = _ledger(tmp_path)
    key, folder = _interrupted(tiny_workload, settings, tmp_path / "machine-a")
    ledger.put("checkpoint", f"{key}@2", folder)
    ledger.study.set_user_attr(f"checkpoint:{key}@2:digest", None)
    capfd.readouterr()
    assert not ledger.get("checkpoint", f"{key}@2", tmp_path / "b" / "step-2")
    assert "no valid digest" in capfd.readouterr().err


def test_a_damaged_warm_start_adapter_is_discarded_and_named_in_one_line(
        tiny_workload, settings, tmp_path, capfd):
    from codesign.accuracy import evaluate_accuracy

    evaluate_accuracy(tiny_workload, AimcTileSpec(), LORA, settings, tmp_path, progress=False)
    start = cache.adapter_dir(tmp_path, cache.train_key(tiny_workload, AimcTileSpec(), LORA,
                                                        settings))
    (start / "adapter_config.json").write_text("{")
    capfd.readouterr()
    with pytest.raises(RuntimeError, match="warm-start adapter .* damaged") as info:
        evaluate(tiny_workload, AimcTileSpec(adc_bits=6), LORA, settings, tmp_path,
                 progress=False, plan=TrainPlan(start=start, steps=2, adapter_key="warm",
                                                lr_scale=0.5))
    assert "\n" not in str(info.value) and not start.exists()
    lines = capfd.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("codesign: warm-start adapter "), lines
    assert not cache.has_adapter(tmp_path, "warm")
