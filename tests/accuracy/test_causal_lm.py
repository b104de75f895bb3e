"""The decoder workload on a tiny LLaMA built from a config: placement roles, the ARC / HellaSwag /
PIQA and Alpaca layouts, log-likelihood scoring and perplexity against the model's own loss, and
an AHWA-LoRA run end to end."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from tiny import make_tiny_llama  # same folder (conftest puts it on the path)

CAUSAL = Path(__file__).parent / "fixtures" / "causal"


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> str:
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def _spec(model, **kw):
    from codesign.accuracy import WorkloadSpec

    return WorkloadSpec(**{"name": "tiny-lm", "model": model, "task": "causal-lm",
                           "max_seq_len": 64, "n_train": 8, "n_eval": 8, "eval_batch_size": 4,
                           **kw})


def test_llama_projections_take_the_hw_models_roles(tiny_llama):
    from codesign.accuracy import roles
    from codesign.accuracy.models import load_model
    from hw_models.specs import PLACEMENTS

    by_name = roles.linear_roles(load_model(tiny_llama, "causal_lm"))
    got = {n.rsplit(".", 1)[-1]: r for n, r in by_name.items() if ".layers.0." in n}
    assert got == {"q_proj": "query", "k_proj": "key", "v_proj": "value", "o_proj": "attn_out",
                   "gate_proj": "ffn_in", "up_proj": "ffn_in", "down_proj": "ffn_out"}
    assert by_name["lm_head"] is None                      # the head stays digital
    assert len(roles.select(by_name, PLACEMENTS["all"])) == 14
    assert [n.rsplit(".", 1)[-1] for n in roles.select(by_name, PLACEMENTS["qkv"])][:3] == \
        ["q_proj", "k_proj", "v_proj"]


@pytest.mark.parametrize("name,right", [("arc.jsonl", [2, 1]), ("hellaswag.jsonl", [3, 3]),
                                        ("piqa.jsonl", [0, 1])])
def test_multiple_choice_layouts(tiny_llama, name, right):
    from codesign.accuracy.workloads import load_task

    task = load_task(_spec(tiny_llama, eval_data=str(CAUSAL / name)))
    assert task.metric == "mc_accuracy"
    assert [item[2] for item in task.mc] == right
    assert all(c.startswith(" ") for item in task.mc for c in item[1])
    if name != "hellaswag.jsonl":
        assert task.mc[0][0].startswith("Question: ") and task.mc[0][0].endswith("\nAnswer:")


def test_choice_loglik_is_the_sum_over_the_choice_tokens(tiny_llama):
    import torch

    from codesign.accuracy.workloads import load_task

    task = load_task(_spec(tiny_llama, eval_data=str(CAUSAL / "piqa.jsonl")))
    model = task.load_model()
    got = task.choice_logliks(model, torch.device("cpu"))
    ctx, choices, _ = task.mc[1]
    for k, choice in enumerate(choices):
        c_ids = task.tokenizer(ctx, add_special_tokens=False)["input_ids"]
        a_ids = task.tokenizer(choice, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([c_ids + a_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
        want = sum(float(logp[len(c_ids) + j - 1, t]) for j, t in enumerate(a_ids))
        assert got[1][k] == pytest.approx(want, abs=1e-4)
    acc = task.evaluate(model, torch.device("cpu"))
    best = [max(range(len(v)), key=v.__getitem__) for v in got]
    assert acc == sum(b == item[2] for b, item in zip(best, task.mc)) / len(task.mc)


def test_perplexity_is_exp_of_the_models_own_loss(tiny_llama):
    import torch

    from codesign.accuracy.workloads import load_task

    task = load_task(_spec(tiny_llama, eval_data=str(CAUSAL / "text.txt"), n_eval=1))
    model = task.load_model()
    assert task.metric == "perplexity" and len(task.eval_text) == 1
    ids = task.tokenizer(task.eval_text[0], add_special_tokens=False)["input_ids"]
    ids = torch.tensor([ids + [task.tokenizer.eos_token_id]])
    with torch.no_grad():
        loss = float(model(input_ids=ids, labels=ids).loss)
    assert task.evaluate(model, torch.device("cpu")) == pytest.approx(math.exp(loss), rel=1e-4)


def test_alpaca_pairs_train_on_the_response_only(tiny_llama):
    from codesign.accuracy.workloads import load_task
    from codesign.accuracy.workloads.causal_lm import alpaca_prompt

    task = load_task(_spec(tiny_llama, train_data=str(CAUSAL / "alpaca.json"), max_seq_len=256))
    task.load_model()
    assert len(task.train_pairs) == 4
    prompt, response = task.train_pairs[2]
    assert prompt == alpaca_prompt("Identify the odd one out.", "Twitter, Instagram, Telegram")
    assert "### Input:\nTwitter" in prompt and prompt.endswith("### Response:\n")
    batch = next(task.train_batches(4, 0))
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        kept = [int(t) for t, lab in zip(ids, labels) if lab != -100]
        text = task.tokenizer.decode(kept[:-1])           # without the eos
        assert "### Response" not in text and kept[-1] == task.tokenizer.eos_token_id
        assert int((labels != -100).sum()) < int(mask.sum())


def test_bad_files_are_one_line_input_errors(tiny_llama, tmp_path):
    from codesign.accuracy.workloads import load_task
    from codesign.errors import InputError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x"}\n')
    with pytest.raises(InputError, match="ARC"):
        load_task(_spec(tiny_llama, eval_data=str(bad)))
    with pytest.raises(InputError, match="Alpaca"):
        load_task(_spec(tiny_llama, train_data=str(bad)))
    with pytest.raises(InputError, match="no such file"):
        load_task(_spec(tiny_llama, eval_data=str(tmp_path / "missing.jsonl")))


def test_ahwa_lora_on_a_tiny_llama_end_to_end(tiny_llama, tmp_path):
    from codesign.accuracy import AccuracySettings, evaluate_accuracy, with_overrides
    from hw_models.specs import AimcTileSpec, LoraSpec

    s = with_overrides(AccuracySettings(device="cpu"), **{
        "training.steps": 2, "training.batch_size": 4, "evaluation.drift_times": ("1d",),
        "evaluation.n_draws": 1})
    r = evaluate_accuracy(_spec(tiny_llama, train_data=str(CAUSAL / "alpaca.json"),
                                eval_data=str(CAUSAL / "arc.jsonl")),
                          AimcTileSpec(), LoraSpec(rank=2), s, tmp_path, progress=False)
    assert r.ok and r.metric == "mc_accuracy" and r.extras["analog_layers"] == 14
    assert 0 <= r.analog_after["1d"]["mean"] <= 1
    # rank 2 x (in + out) on q (32x32), k and v (32x16, one KV head), o (32x32), gate and up
    # (32x64), down (64x32), in 2 layers
    assert r.trainable_params == 2 * 2 * (64 + 48 + 48 + 64 + 96 + 96 + 96)
