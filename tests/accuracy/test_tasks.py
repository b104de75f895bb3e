"""GLUE and SQuAD v1.1 on tiny local fixtures in the real formats; multi-task; dynamic adaptation."""

import dataclasses

import pytest

from codesign.accuracy import WorkloadSpec, evaluate_accuracy, with_overrides
from codesign.accuracy.engine import MultiTaskModel, adapt
from codesign.accuracy.workloads import load_task
from codesign.errors import InputError
from hw_models.specs import AimcTileSpec, LoraSpec

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def _wl(tiny_model, task, **kw):
    return WorkloadSpec(name="tiny", model=tiny_model, task=str(task), max_seq_len=64,
                        n_train=12, n_eval=10, eval_batch_size=8, **kw)


def test_glue_sst2_folder_jsonl(tiny_model, small_settings, tmp_path):
    r = evaluate_accuracy(_wl(tiny_model, FIXTURES / "sst2", glue_task="sst2"), AimcTileSpec(),
                          LoraSpec(rank=2), small_settings, tmp_path, progress=False)
    assert r.ok and r.metric == "sst2_accuracy"
    for series in (r.digital, r.analog_before, r.analog_after):
        assert all(0.0 <= v["mean"] <= 1.0 for v in series.values())
    # the classifier head is digital and trains with the adapter
    assert r.trainable_params > 0


def test_glue_stsb_single_tsv_spearman(tiny_model, small_settings, tmp_path):
    wl = dataclasses.replace(_wl(tiny_model, FIXTURES / "stsb.tsv", glue_task="stsb"), n_train=6,
                             n_eval=4)
    task = load_task(wl)
    assert len(task.train_rows) == 6 and len(task.eval_rows) == 4
    r = evaluate_accuracy(wl, AimcTileSpec(), LoraSpec(rank=2), small_settings, tmp_path,
                          progress=False)
    assert r.ok and r.metric == "stsb_spearmanr"
    assert all(-1.0 <= v["mean"] <= 1.0 for v in r.analog_after.values())


def test_squad_folder_official_json(tiny_model, small_settings, tmp_path):
    wl = _wl(tiny_model, FIXTURES / "squad")
    task = load_task(wl)
    assert type(task).__name__ == "SquadTask" and len(task.eval_rows) == 3
    batch = next(task.train_batches(2, seed=0)) if task.tokenizer else None
    r = evaluate_accuracy(wl, AimcTileSpec(), LoraSpec(rank=2, placement="qkv"), small_settings,
                          tmp_path, progress=False)
    assert r.ok and r.metric == "squad_f1"
    assert all(0.0 <= v["mean"] <= 100.0 for v in r.analog_after.values())
    # exact match is reported beside F1, over the same draws; F1 is the metric's series
    assert set(r.measures) == {"exact_match", "f1"}
    assert r.measures["f1"]["analog_after"] == r.analog_after
    assert all(e["mean"] <= f["mean"] for e, f in zip(
        r.measures["exact_match"]["analog_after"].values(), r.analog_after.values()))
    assert batch is None


def test_squad_labels_point_at_the_answer(tiny_model):
    task = load_task(_wl(tiny_model, FIXTURES / "squad"))
    task.load_model()
    enc, offsets, _ = task._encode(task.train_rows[:3], True)
    for i, row in enumerate(task.train_rows[:3]):
        s, e = int(enc["start_positions"][i]), int(enc["end_positions"][i])
        text = row["context"][int(offsets[i, s, 0]):int(offsets[i, e, 1])]
        assert text == row["answers"]["text"][0]


def test_unknown_glue_columns_and_unknown_dataset(tiny_model, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": 0}\n' * 4)
    with pytest.raises(InputError, match="column"):
        load_task(dataclasses.replace(_wl(tiny_model, bad), n_train=2, n_eval=2))
    with pytest.raises(InputError, match="workload.task"):
        load_task(_wl(tiny_model, "glue/nosuch"))


def test_multitask_adapters_swap_on_one_converted_model(tiny_workload, small_settings, tmp_path):
    import torch

    from codesign.accuracy import convert
    from codesign.accuracy.lora import save_adapter

    mt = MultiTaskModel(tiny_workload, AimcTileSpec(), LoraSpec(rank=2), small_settings)
    # give the first adapter non-zero B so that it changes the output, save it, add a second
    with torch.no_grad():
        for n, p in mt.model.named_parameters():
            if "lora_B.default" in n:
                p.normal_(0, 0.5)
    save_adapter(mt.model, tmp_path / "a")
    mt.add("b", LoraSpec(rank=4, placement="ffn"))
    assert mt.names == ["default", "b"] and mt.same_analog_layers()
    convert.program(mt.model, seed=3)

    def run(name):
        mt.use(name)
        torch.manual_seed(0)
        return mt.evaluate()

    a1, b1, a2 = run("default"), run("b"), run("default")
    assert a1 == pytest.approx(a2) and a1 != pytest.approx(b1)
    assert mt.same_analog_layers()
    # only the active adapter trains; analog stays frozen
    trainable = [n for n, p in mt.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n and ".default" in n for n in trainable)


def test_dynamic_adaptation_retrains_existing_adapter(tiny_workload, small_settings, tmp_path):
    old, new = AimcTileSpec(adc_bits=8, dac_bits=8), AimcTileSpec(adc_bits=6, dac_bits=6)
    s = with_overrides(small_settings, **{"evaluation.n_draws": 1})
    r = adapt(tiny_workload, old, new, LoraSpec(rank=2), s, tmp_path, progress=False)
    assert r.ok and not r.cache_hit
    assert len(list((tmp_path / "adapters").glob("*/adapter_model.safetensors"))) == 2
