"""The retrieval workload (minilm-retrieval): measures, corpus, end to end, bad settings."""

from __future__ import annotations

import dataclasses
import math

import pytest

from codesign.accuracy.workloads.retrieval import (chunk, ict_pairs, make_pair, prose_sentences,
                                                   rank_measures, split)


def test_measures_match_a_hand_checked_ranking():
    """Four documents, three queries whose relevant document is ranked 1st, 2nd and 4th:
    Recall@1 = 1/3, MRR@10 = (1 + 1/2 + 1/4) / 3, nDCG@10 = (1 + 1/log2 3 + 1/log2 5) / 3."""
    scores = [[0.9, 0.1, 0.2, 0.3],      # relevant d0: rank 1
              [0.8, 0.7, 0.1, 0.2],      # relevant d1: rank 2 (after d0)
              [0.4, 0.9, 0.1, 0.6]]      # relevant d2: rank 4 (after d1, d3, d0)
    got = rank_measures(scores, [0, 1, 2])
    assert got["recall@1"] == pytest.approx(1 / 3)
    assert got["mrr@10"] == pytest.approx((1 + 0.5 + 0.25) / 3)
    assert got["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(5)) / 3)


def test_a_relevant_document_below_rank_10_scores_zero():
    """Twelve documents, the relevant one last: nothing counts at cut-off 10."""
    scores = [[1.0 - 0.05 * d for d in range(12)]]
    got = rank_measures(scores, [11])
    assert got == {"recall@1": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0}


def test_prose_leaves_out_code_grammar_and_headings():
    text = ("The \"for\" statement\n*******************\n\n"
            "The loop runs over a sequence of items.  It stops at the end.\n\n"
            "   for_stmt ::= \"for\" target_list \"in\" starred_list\n\n"
            "A break statement ends the loop early.\n")
    assert prose_sentences(text) == ["The loop runs over a sequence of items.",
                                     "It stops at the end.",
                                     "A break statement ends the loop early."]
    assert chunk(list("abcdefghij"), 4) == [list("abcd"), list("efgh")]


def test_the_query_is_a_sentence_taken_out_of_its_passage():
    import random

    sents = ["First sentence here.", "Second sentence here.", "Third sentence here.",
             "Fourth sentence here."]
    pair = make_pair(sents, random.Random(1), "t#0")
    assert pair.query in sents and pair.query not in pair.passage
    assert pair.passage == " ".join(s for s in sents if s != pair.query)


def test_the_corpus_split_is_deterministic_and_disjoint():
    pairs = ict_pairs()
    assert pairs == ict_pairs() and len(pairs) > 300
    assert all(p.query not in p.passage for p in pairs)
    train, held = split(pairs, 100, 40)
    assert (len(train), len(held)) == (100, 40)
    assert not {p.source for p in train} & {p.source for p in held}
    assert split(pairs, 100, 40) == (train, held)
    assert split(pairs, 10, 40)[1] == held          # held-out pairs do not depend on n_train


def test_digital_minilm_is_good_but_not_perfect():
    """The packaged all-MiniLM-L6-v2 on 32 held-out passages: far above chance (1/32) and below
    1.0 (otherwise the workload could not show a loss); R@1 <= MRR@10 <= nDCG@10 for one
    relevant document."""
    import torch

    from codesign.accuracy import WorkloadSpec
    from codesign.accuracy.workloads import load_task

    task = load_task(WorkloadSpec(name="minilm-retrieval", task="retrieval", max_seq_len=128,
                                  n_train=8, n_eval=32))
    mrr = task.evaluate(task.load_model(), torch.device("cpu"))
    m = task.last_metrics
    assert mrr == m["mrr@10"]
    assert 0.25 < m["recall@1"] <= m["mrr@10"] <= m["ndcg@10"] < 1.0


@pytest.fixture
def tiny_retrieval(tiny_model):
    from codesign.accuracy import WorkloadSpec

    return WorkloadSpec(name="tiny-retrieval", model=tiny_model, task="retrieval",
                        max_seq_len=48, n_train=16, n_eval=8, eval_batch_size=8)


def _cli_json(argv, capsys) -> dict:
    import json

    from codesign.cli import main

    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_codesign_accuracy_reports_the_three_measures(tiny_model, tmp_path, capsys):
    """`codesign accuracy --workload minilm-retrieval --json` (a tiny model, corpus and training):
    the result's measures hold Recall@1, MRR@10 and nDCG@10 per drift time and variant over the
    same draws as the primary metric, which is measures["mrr@10"]; they survive the result
    cache, and a result cached without them is evaluated again."""
    wl = tmp_path / "wl.yaml"
    wl.write_text(f"name: minilm-retrieval\nmodel: {tiny_model}\ntask: retrieval\n"
                  "max_seq_len: 48\nn_train: 16\nn_eval: 8\neval_batch_size: 8\n")
    argv = ["accuracy", "--workload", str(wl), "--rank", "2", "--steps", "2", "--batch-size", "4",
            "--draws", "2", "--drift-times", "0s", "1d", "--device", "cpu",
            "--cache-dir", str(tmp_path / "c"), "--quiet", "--json"]
    d = _cli_json(argv, capsys)
    assert d["metric"] == "mrr@10" and set(d["measures"]) == {"recall@1", "mrr@10", "ndcg@10"}
    mrr = d["measures"]["mrr@10"]
    assert mrr["digital"] == pytest.approx(d["digital"]["0s"]["mean"])
    for variant in ("analog_before", "analog_after"):
        for label in ("0s", "1d"):
            assert mrr[variant][label] == pytest.approx(d[variant][label])
            r1, ndcg = (d["measures"][m][variant][label]["mean"] for m in ("recall@1", "ndcg@10"))
            assert 0 <= r1 <= mrr[variant][label]["mean"] <= ndcg <= 1
    again = _cli_json(argv, capsys)
    # the first run's result file answers (it keeps that run's training time)
    assert again["cache_hit"] and "train_seconds" in again and again["measures"] == d["measures"]
    # a result cached before results kept measures: evaluated again, adapters from the cache
    import json

    (cached,) = (tmp_path / "c" / "results").glob("*.json")
    old = json.loads(cached.read_text())
    del old["measures"]
    cached.write_text(json.dumps(old))
    redone = _cli_json(argv, capsys)
    assert "train_seconds" not in redone and redone["measures"] == d["measures"]
    assert json.loads(cached.read_text())["measures"] == d["measures"]
    from codesign.cli import main

    assert main(argv[:-1]) == 0
    assert "| drift | model | recall@1 | mrr@10 | ndcg@10 |" in capsys.readouterr().out


@pytest.mark.slow
def test_the_built_in_workload_name_reports_its_measures(tmp_path, capsys):
    """The preset itself (all-MiniLM-L6-v2, 64 held-out passages), one step and one draw: the
    digital measures are those of docs/guide/retrieval.md, MRR@10 is measures["mrr@10"]."""
    d = _cli_json(["accuracy", "--workload", "minilm-retrieval", "--rank", "1", "--steps", "1",
                   "--draws", "1", "--drift-times", "0s", "--cache-dir", str(tmp_path),
                   "--quiet", "--json"], capsys)
    m = d["measures"]
    assert {k: round(v["digital"], 3) for k, v in m.items()} == \
        {"recall@1": 0.484, "mrr@10": 0.638, "ndcg@10": 0.704}
    assert m["mrr@10"]["analog_after"]["0s"] == pytest.approx(d["analog_after"]["0s"])


def test_contrastive_adapters_train_on_their_own_key(tiny_retrieval, small_settings, tmp_path):
    from hw_models.specs import AimcTileSpec, LoraSpec

    from codesign.accuracy.engine import evaluate

    aimc, lora = AimcTileSpec(adc_bits=8, dac_bits=8), LoraSpec(rank=2, placement="all")
    s = dataclasses.replace(small_settings, evaluation=dataclasses.replace(
        small_settings.evaluation, drift_times=("1d",), n_draws=1))
    distilled = evaluate(tiny_retrieval, aimc, lora, s, tmp_path, progress=False)
    contrastive = dataclasses.replace(tiny_retrieval, task="retrieval-contrastive")
    res = evaluate(contrastive, aimc, lora, s, tmp_path, progress=False)
    assert res.ok and res.extras["train_key"] != distilled.extras["train_key"]
    assert 0 < res.extras["first_loss"] < 2 * math.log(4) + 1     # CE over a batch of 4
    assert res.measures["mrr@10"]["analog_after"]["1d"] == res.analog_after["1d"]


def _run_cli(argv, capsys):
    from codesign.cli import main

    code = main(argv)
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("fields, needle", [
    ("name: minilm-retrieval\ntask: fidelity\n", "workload.task"),
    ("name: r\ntask: retrieval\nn_eval: 1\n", "workload.n_eval"),
    ("name: r\ntask: retrieval\nn_eval: 100000\n", "workload.n_eval"),
    ("name: r\ntask: retrievl\n", "workload.task"),
])
def test_bad_settings_are_one_line_and_exit_2(fields, needle, tmp_path, capsys):
    wl = tmp_path / "wl.yaml"
    wl.write_text(fields)
    code, err = _run_cli(["accuracy", "--workload", str(wl), "--rank", "8", "--steps", "1",
                          "--cache-dir", str(tmp_path / "c"), "--quiet"], capsys)
    assert code == 2 and needle in err and len(err.splitlines()) == 1


def test_measures_are_summed_over_draws_per_variant_and_drift_time():
    """Two draws of 0.5 and 0.7 at 1 d: mean 0.6, population std 0.1; the digital value as is."""
    from codesign.accuracy.measures import format_measures, tabulate

    recorded = {"before": {"1d": [{"mrr@10": 0.5}, {"mrr@10": 0.7}]},
                "after": {"1d": [{"mrr@10": 0.6}, {"mrr@10": 0.6}]}}
    got = tabulate({"mrr@10": 0.8}, recorded)
    assert got["mrr@10"]["digital"] == 0.8
    assert got["mrr@10"]["analog_before"]["1d"] == pytest.approx({"mean": 0.6, "std": 0.1})
    assert got["mrr@10"]["analog_after"]["1d"] == pytest.approx({"mean": 0.6, "std": 0.0})
    assert tabulate({}, {}) == {}
    assert "| 1d | analog before | 0.600 ± 0.100 |" in format_measures(got, ["1d"])
