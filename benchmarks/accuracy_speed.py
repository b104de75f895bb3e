"""Accuracy-model speed and the issue's "must show" figures, as one JSON line each.

    .venv/bin/python benchmarks/accuracy_speed.py            # default evaluation + cache hit
    .venv/bin/python benchmarks/accuracy_speed.py --must-show
    .venv/bin/python benchmarks/accuracy_speed.py --noise-comparison

Default mode: one default evaluation of the offline workload (train adapters + 7 drift times x 3
draws) from an empty cache, then the same request again (an adapter/result cache hit), each in a
fresh process (its wall time includes start-up and imports; peak memory = the process's max RSS).
Targets on the 2-core CPU machine: <= 60 s and <= 5 s. Then the floor, in a third process: the
digital model through the same work (a forward + backward pass per training step on the same
batches, one evaluation of the same sentences per draw, drift time and variant), and the ratio of
the analog training + drift evaluation time to it. ``load_avg_1min_start`` / ``load_avg_1min``: the
machine's load when the run started / ended (the CPU may be shared); ``CODESIGN_TORCH_THREADS``
sets torch's threads (default: the cores the load leaves free, at least 1).

--must-show: trainable parameters for ranks 1, 2, 4, 8, 16 (linear in rank) and peak training
memory of AHWA-LoRA vs full AHWA (same 8 steps, batch and Gaussian noise, each in its own process).
The default mode reports digital vs analog-before vs AHWA-LoRA-after at 1 d and the gap recovered.

--noise-comparison: the same adapter training under the paper's Gaussian weight noise and under
the PCM model in the loop, evaluated at 1 d and 1 y (64 sentences in one batch, 2 draws).

--integration: accuracy (before / after, 1 d and 1 y, 2 draws) at integration times 128, 256 and
512 ns with the noise coupling on, adapters trained once at the reference 256 ns and evaluated at
each, and adapters trained at each integration time's own noise (the measurement behind
``noise.train_integration``: the default 'noisier' trains at the noisier of the two, i.e. the
'own' row below 256 ns and the 'reference' row above it).

--versus-full: AHWA-LoRA (rank 8) against full AHWA (every weight trained, Gaussian noise as the
paper's baseline) at 60 and 150 steps: trainable parameters, training memory, before / after at
1 d and 1 y (2 draws).

--decoder: the causal-LM workload (Alpaca instruction tuning, perplexity, zero-shot ARC /
HellaSwag / PIQA by log-likelihood) on a tiny random LLaMA built from a config, on the test
fixtures: the code path a real LLaMA runs, not a real model's figures.

--recovery: share of the analog-vs-digital gap the adapters recover at 1 d and 1 y, for the
deployment with the meta-weights clipped at 3 sigma before programming (the default) and without
clipping (``noise.clip_sigma=0``: aihwkit applies the clip only in training steps, so the authors'
AHWA-LoRA pipeline programs the frozen weights unclipped), each after 60 and 150 steps (2 draws);
then the chip-specific bound: adapters trained on one programmed chip only (drifted to random times
as usual), evaluated on that chip and on a fresh one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from codesign.accuracy import AccuracySettings, WorkloadSpec, evaluate_accuracy, with_overrides
from hw_models.specs import AimcTileSpec, LoraSpec
req = json.loads(sys.argv[1])
s = with_overrides(AccuracySettings(), **req.get("settings", {}))
w = with_overrides(WorkloadSpec(), **req.get("workload", {}))
r = evaluate_accuracy(w, AimcTileSpec(**req.get("aimc", {})), LoraSpec(**req.get("lora", {})), s,
                      Path(req["cache"]), progress=False)
out = r.to_dict()
out["wall_s"] = round(time.perf_counter() - t0, 2)
if req.get("floor"):
    # the floor: the digital model (no tiles, no adapters) through the same work: a forward and
    # backward pass for each training step on the same batches, and one evaluation of the same
    # sentences per (draw, drift time, variant)
    import torch
    from codesign.accuracy.engine import _threads
    from codesign.accuracy.workloads import load_task
    _threads()
    task = load_task(w)
    model = task.load_model()
    task.prepare(model)
    for p in model.parameters():
        p.requires_grad_(True)
    batches = task.train_batches(s.training.batch_size, s.training.seed)
    tf = time.perf_counter()
    for _ in range(s.training.steps):
        model.zero_grad(set_to_none=True)
        task.loss(model, next(batches)).backward()
    train_floor = time.perf_counter() - tf
    tf = time.perf_counter()
    with torch.no_grad():
        for _ in range(2 * s.evaluation.n_draws * len(s.evaluation.drift_times)):
            task.evaluate(model, torch.device("cpu"))
    out["floor"] = {"train_s": round(train_floor, 2), "eval_s": round(time.perf_counter() - tf, 2)}
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print("RESULT " + json.dumps(out))
"""


def run_child(request: dict) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(request)], capture_output=True,
                          text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[7:])
    out["process_s"] = round(time.perf_counter() - t, 2)
    return out


def at(series: dict, label: str) -> float:
    return series[label]["mean"]


def default_speed() -> dict:
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as cache:
        first = run_child({"cache": cache})
        second = run_child({"cache": cache})
    with tempfile.TemporaryDirectory() as cache:
        floor = run_child({"cache": cache, "floor": True})["floor"]
    floor_s = floor["train_s"] + floor["eval_s"]
    work_s = (first.get("train_seconds") or 0) + (first.get("eval_seconds") or 0)
    return {"benchmark": "accuracy_speed", "default_eval_s": first["process_s"],
            "load_avg_1min_start": load_start, "load_avg_1min": os.getloadavg()[0],
            "torch_threads": os.environ.get("CODESIGN_TORCH_THREADS", "default"),
            "train_s": first.get("train_seconds"), "drift_eval_s": first.get("eval_seconds"),
            "floor_train_s": floor["train_s"], "floor_eval_s": floor["eval_s"],
            "ratio_to_floor": round(work_s / floor_s, 2) if floor_s else None,
            "peak_rss_mb": first["peak_rss_mb"], "train_peak_mb": first.get("train_peak_mb"),
            "cache_hit_s": second["process_s"], "cache_hit": second["cache_hit"],
            "digital_1d": at(first["digital"], "1d"), "before_1d": at(first["analog_before"], "1d"),
            "after_1d": at(first["analog_after"], "1d"),
            "gap_recovered_1d": _gap_row(first, ["1d"])["recovered"]["1d"],
            "analog_before": first["analog_before"], "analog_after": first["analog_after"],
            "trainable_params": first["trainable_params"], "total_params": first["total_params"],
            "targets": {"default_eval_s": 60, "cache_hit_s": 5}}


def must_show() -> list[dict]:
    rows = []
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from codesign.accuracy import AccuracySettings, WorkloadSpec
    from codesign.accuracy.engine import build
    from codesign.accuracy.lora import count_params
    from hw_models.specs import AimcTileSpec, LoraSpec

    params = {}
    for r in (1, 2, 4, 8, 16):
        b = build(WorkloadSpec(n_train=16, n_eval=16), AimcTileSpec(), LoraSpec(rank=r),
                  AccuracySettings(device="cpu"))
        params[r] = count_params(b.model)[0]
    rows.append({"figure": "trainable_params_vs_rank", "params": params,
                 "per_rank": {r: p / r for r, p in params.items()}})
    mem = {}
    for mode in ("lora", "full_ahwa"):
        with tempfile.TemporaryDirectory() as cache:
            out = run_child({"cache": cache, "workload": {"n_eval": 16}, "settings": {
                "training.mode": mode, "training.steps": 8, "noise.train_noise_model": "gaussian",
                "evaluation.drift_times": ["0s"], "evaluation.n_draws": 1}})
        mem[mode] = {"train_peak_mb": out.get("train_peak_mb"), "peak_rss_mb": out["peak_rss_mb"],
                     "trainable_params": out["trainable_params"]}
    rows.append({"figure": "training_memory_lora_vs_full_ahwa", **mem})
    return rows


def noise_comparison(steps: int, lr: float) -> list[dict]:
    rows = []
    for model in ("gaussian", "pcm"):
        with tempfile.TemporaryDirectory() as cache:
            out = run_child({"cache": cache, "workload": {"n_eval": 64, "eval_batch_size": 64},
                             "settings": {"training.steps": steps, "training.lr": lr,
                                          "noise.train_noise_model": model,
                                          "evaluation.drift_times": ["1d", "1y"],
                                          "evaluation.n_draws": 2}})
        rows.append({"figure": "train_noise", "train_noise_model": model, "steps": steps, "lr": lr,
                     "before": out["analog_before"], "after": out["analog_after"],
                     "train_s": out.get("train_seconds")})
    return rows


def _gap_row(out: dict, labels: list[str]) -> dict:
    """Before, after and the share of the digital-vs-analog gap recovered, at each label."""
    row: dict = {"before": {}, "after": {}, "recovered": {}}
    for k in labels:
        before, after = at(out["analog_before"], k), at(out["analog_after"], k)
        row["before"][k], row["after"][k] = round(before, 4), round(after, 4)
        row["recovered"][k] = round((after - before) / (at(out["digital"], k) - before), 3)
    return row


def recovery(steps_list: tuple[int, ...] = (60, 150)) -> list[dict]:
    labels = ["1d", "1y"]
    rows = []
    for clip in (3.0, 0.0):
        for steps in steps_list:
            with tempfile.TemporaryDirectory() as cache:
                out = run_child({"cache": cache, "settings": {
                    "noise.clip_sigma": clip, "training.steps": steps,
                    "evaluation.drift_times": labels, "evaluation.n_draws": 2}})
            rows.append({"figure": "gap_recovered", "clip_sigma": clip, "steps": steps,
                         **_gap_row(out, labels), "train_s": out.get("train_seconds")})
    steps = steps_list[0]
    chip = {}
    with tempfile.TemporaryDirectory() as cache:
        # training on the chip of seed 0; evaluation draw 0 with evaluation.seed 0 is that chip,
        # evaluation.seed 1 another one (the second request is an adapter-cache hit)
        for name, seed in (("same_chip", 0), ("other_chip", 1)):
            out = run_child({"cache": cache, "settings": {
                "noise.train_chip_seed": 0, "training.steps": steps,
                "evaluation.seed": seed, "evaluation.drift_times": labels,
                "evaluation.n_draws": 1}})
            chip[name] = _gap_row(out, labels)
    rows.append({"figure": "gap_recovered_chip_specific", "clip_sigma": 3.0, "steps": steps,
                 **chip})
    return rows


def integration(steps: int) -> list[dict]:
    """Accuracy vs integration time (noise coupling on): adapters trained once at the reference
    integration time and evaluated at each, against adapters trained at each one's own noise."""
    labels = ["1d", "1y"]
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for mode in ("reference", "own"):
            for t_int in (128.0, 256.0, 512.0):
                if mode == "own" and t_int == 256.0:
                    continue                        # the reference itself: same adapter
                out = run_child({"cache": cache, "aimc": {"integration_ns": t_int}, "settings": {
                    "noise.train_integration": mode, "training.steps": steps,
                    "evaluation.drift_times": labels, "evaluation.n_draws": 2}})
                rows.append({"figure": "accuracy_vs_integration", "integration_ns": t_int,
                             "train_integration": mode, "steps": steps, **_gap_row(out, labels),
                             "std_after": {k: round(out["analog_after"][k]["std"], 4)
                                           for k in labels},
                             "trained": "train_seconds" in out})
    return rows


def versus_full(steps_list: tuple[int, ...] = (60, 150)) -> list[dict]:
    """AHWA-LoRA (rank 8, all layers) vs full AHWA (every weight trains, no adapters) on the same
    data, steps and drift times: parameters, training memory, before / after at 1 d and 1 y."""
    labels = ["1d", "1y"]
    rows = []
    for steps in steps_list:
        for mode in ("lora", "full_ahwa"):
            with tempfile.TemporaryDirectory() as cache:
                out = run_child({"cache": cache, "settings": {
                    "training.mode": mode, "training.steps": steps,
                    "evaluation.drift_times": labels, "evaluation.n_draws": 2}})
            rows.append({"figure": "lora_vs_full_ahwa", "mode": mode, "steps": steps,
                         "trainable_params": out["trainable_params"],
                         "train_peak_mb": out.get("train_peak_mb"),
                         "peak_rss_mb": out["peak_rss_mb"], **_gap_row(out, labels),
                         "train_s": out.get("train_seconds")})
    return rows


def decoder() -> list[dict]:
    """The causal-LM workload on a tiny random LLaMA (2 layers, 32 wide, from a config, the
    packaged MiniLM tokenizer), Alpaca-format instruction tuning on the test fixture, then
    perplexity and zero-shot multiple choice on the ARC / HellaSwag / PIQA fixtures."""
    sys.path.insert(0, str(ROOT / "tests" / "accuracy"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tiny import make_tiny_llama

    fixtures = ROOT / "tests" / "accuracy" / "fixtures" / "causal"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = make_tiny_llama(Path(tmp) / "tiny-llama")
        for eval_data in (None, "arc.jsonl", "hellaswag.jsonl", "piqa.jsonl"):
            out = run_child({"cache": str(Path(tmp) / "cache"), "workload": {
                "name": "tiny-llama", "model": str(model_dir), "task": "causal-lm",
                "train_data": str(fixtures / "alpaca.json"), "max_seq_len": 128,
                "eval_data": str(fixtures / eval_data) if eval_data else None},
                "settings": {"training.steps": 8, "training.batch_size": 4,
                             "evaluation.drift_times": ["1d", "1y"], "evaluation.n_draws": 2}})
            rows.append({"figure": "decoder_tiny_llama", "eval_data": eval_data or
                         "stdlib sentences (perplexity)", "metric": out["metric"],
                         "digital": at(out["digital"], "1d"),
                         "before": {k: round(at(out["analog_before"], k), 4) for k in ("1d", "1y")},
                         "after": {k: round(at(out["analog_after"], k), 4) for k in ("1d", "1y")},
                         "trainable_params": out["trainable_params"],
                         "total_params": out["total_params"], "wall_s": out["process_s"]})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--must-show", action="store_true")
    p.add_argument("--noise-comparison", action="store_true")
    p.add_argument("--recovery", action="store_true",
                   help="gap recovered vs clipping and steps, and the chip-specific bound")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: settings)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate for --noise-comparison")
    p.add_argument("--integration", action="store_true",
                   help="accuracy vs integration time, adapters trained at the reference or own")
    p.add_argument("--decoder", action="store_true",
                   help="the causal-LM workload on a tiny LLaMA built from a config")
    p.add_argument("--versus-full", action="store_true",
                   help="AHWA-LoRA vs full AHWA at 60 and 150 steps (or --steps and 150)")
    args = p.parse_args()
    if args.versus_full:
        for row in versus_full((args.steps, 150) if args.steps else (60, 150)):
            print(json.dumps(row), flush=True)
        return
    if args.decoder:
        for row in decoder():
            print(json.dumps(row), flush=True)
        return
    if args.integration:
        from codesign.accuracy import TrainingSettings

        for row in integration(args.steps or TrainingSettings().steps):
            print(json.dumps(row), flush=True)
        return
    if args.recovery:
        for row in recovery((args.steps, 150) if args.steps else (60, 150)):
            print(json.dumps(row), flush=True)
        return
    if args.must_show or args.noise_comparison:
        from codesign.accuracy import TrainingSettings

        steps = args.steps or TrainingSettings().steps
        rows = must_show() if args.must_show else noise_comparison(steps, args.lr)
        for row in rows:
            print(json.dumps(row), flush=True)
        return
    print(json.dumps(default_speed()))


if __name__ == "__main__":
    main()
