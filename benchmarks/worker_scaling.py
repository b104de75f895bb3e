"""Trial throughput of 1 and 2 `codesign run` workers on one storage.

A latency-only study (MobileBERT shapes, the SimPy engine, random sampler so that trials are not
repeats) is run to a fixed trial count by one worker, then, in a fresh storage, by two concurrent
workers. Throughput counts trials finished between the first and the last trial of the run (trial
timestamps from the storage), so process start-up is not part of it. Prints one JSON line.

Default storage is SQLite (a file beside the results); ``--storage postgresql://...`` measures a
PostgreSQL server instead (the database must exist and be empty of this study).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml

STUDY = {
    "name": "worker_scaling",
    "sampler": "random",
    "workload": {"network": "mobilebert", "seq_len": 320},
    "search_space": {
        "rank": {"choices": [1, 2, 4, 8, 16]},
        "placement": {"choices": ["all", "qkv", "ffn", "attention"]},
        "integration_ns": {"low": 100, "high": 600},
        "tokens": {"choices": [8, 16, 32, 64, 128]},
        "tcdm_kib": {"choices": [64, 128, 256, 512]},
    },
    "objectives": [{"name": "latency_us"}, {"name": "energy_uj"}],
}


def measure(workers: int, n_trials: int, folder: Path, storage: str | None,
            workload: dict) -> dict:
    path = folder / f"study_{workers}.yaml"
    name = f"worker_scaling_{workers}_{int(time.time())}"
    path.write_text(yaml.safe_dump(dict(STUDY, name=name, n_trials=n_trials, workload=workload)))
    url = storage or f"sqlite:///{folder / f'{name}.db'}"
    cmd = [sys.executable, "-m", "codesign", "run", str(path), "--out", str(folder),
           "--no-progress", "--storage", url]
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"worker failed: {err.strip().splitlines()[-1:]}")
    wall = time.perf_counter() - start
    trials = optuna.load_study(study_name=name, storage=url).trials
    done = sorted(t.datetime_complete for t in trials if t.datetime_complete)
    first_start = min(t.datetime_start for t in trials if t.datetime_start)
    span = (done[-1] - first_start).total_seconds()
    return {"workers": workers, "trials": len(done), "span_s": round(span, 2),
            "trials_per_s": round(len(done) / span, 2), "wall_s": round(wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-trials", type=int, default=200)
    ap.add_argument("--storage", default=None, help="default: a temporary SQLite file per run")
    ap.add_argument("--network", default="mobilebert",
                    help="network of the trials (mobilebert: ~30 ms per trial, storage-bound; "
                         "llama-3.1-8b with --seq-len 2048: ~0.3 s per trial)")
    ap.add_argument("--seq-len", type=int, default=320)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    workload = {"network": args.network, "seq_len": args.seq_len}
    with tempfile.TemporaryDirectory() as tmp:
        one = measure(1, args.n_trials, Path(tmp), args.storage, workload)
        two = measure(2, args.n_trials, Path(tmp), args.storage, workload)
    print(json.dumps({"benchmark": "worker_scaling", "storage": "postgresql" if args.storage
                      else "sqlite", "workload": workload, "one": one, "two": two,
                      "speedup": round(two["trials_per_s"] / one["trials_per_s"], 2)}))


if __name__ == "__main__":
    main()
