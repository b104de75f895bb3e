"""Learning curves of warm starts on the joint problem: how close a cheap training comes to a full one.

For 8 settings of ``search_efficiency.py --joint`` (the grid must be computed: its adapters are
the starts and the reference), each warm-started from a neighbour that differs in rank, ADC bits
or integration time, trains ``--steps`` steps (``--schedule tail``: the learning rate starts at
steps/16 of training.lr and decays to 0, what ``search.warm_start`` does; ``full``: starts at
training.lr) and measures the accuracy (one draw at 1 day, as the objective) every 2 steps.
Prints one JSON line: per setting the grid's accuracy (trained in full), the start's accuracy on
the setting's hardware (step 0), the curve, and the gap at the end (accuracy points, warm minus
full); then the mean gap.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from codesign.accuracy import cache  # noqa: E402
from codesign.accuracy.engine import TrainPlan, evaluate  # noqa: E402
from search_efficiency import accuracy_parts  # noqa: E402

#: (target, start) as (rank, placement, ADC bits, integration ns): another rank (up, down), ADC
#: bits (down, up) or integration time (a shorter one trains its own adapters)
PAIRS = [((16, "ffn", 8, 256), (4, "ffn", 8, 256)), ((1, "ffn", 8, 256), (4, "ffn", 8, 256)),
         ((4, "ffn", 6, 256), (4, "ffn", 8, 256)), ((4, "ffn", 8, 128), (4, "ffn", 8, 256)),
         ((2, "qkv", 8, 256), (2, "qkv", 6, 256)), ((2, "all", 8, 128), (2, "all", 8, 256)),
         ((16, "qkv", 8, 256), (1, "qkv", 8, 256)), ((4, "all", 6, 128), (4, "all", 8, 256))]


class _Curve:
    """Records each checkpoint's accuracy and never stops the training."""

    def __init__(self) -> None:
        self.points: list = []

    def report(self, step: int, value: float) -> bool:
        self.points.append((step, round(value, 5)))
        return False


def _parts(rank, placement, adc, integration_ns) -> tuple:
    return accuracy_parts({"lora.rank": rank, "lora.placement": placement,
                           "hardware.aimc.adc_bits": adc,
                           "hardware.aimc.integration_ns": integration_ns, "hardware.tokens": 8})


def _pair(cache_dir: Path, target, start, steps: int, schedule: str) -> dict:
    parts = _parts(*target)
    full = evaluate(*parts, cache_dir, progress=False).analog_after["1d"]["mean"]
    start_key = cache.train_key(*_parts(*start))
    if not cache.has_adapter(cache_dir, start_key):
        print(f"--cache: no adapter of {start} (compute the joint grid first)", file=sys.stderr)
        raise SystemExit(2)
    folder = cache.adapter_dir(cache_dir, start_key)
    lr_scale = steps / parts[3].training.steps if schedule == "tail" else 1.0
    curve = _Curve()
    curve.report(0, evaluate(*parts, cache_dir, progress=False, plan=TrainPlan(
        start=folder, steps=1, lr_scale=1e-9, adapter_key=cache.digest(
            {"warm_curves": "start", "target": target, "start": start}))).analog_after["1d"]["mean"])
    end = evaluate(*parts, cache_dir, progress=False, plan=TrainPlan(
        start=folder, steps=steps, lr_scale=lr_scale, rungs=tuple(range(2, steps, 2)),
        checkpoints=curve, adapter_key=cache.digest({"warm_curves": schedule, "steps": steps,
                                                     "target": target, "start": start})))
    curve.report(steps, end.analog_after["1d"]["mean"])
    return {"target": target, "start": start, "full": round(full, 5), "curve": curve.points,
            "gap_points": round(100 * (curve.points[-1][1] - full), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="results/benchmarks/search_joint",
                    help="the folder search_efficiency.py --joint computed its grid into")
    ap.add_argument("--steps", type=int, default=8, choices=(4, 6, 8, 10, 12, 14, 16))
    ap.add_argument("--schedule", choices=("tail", "full"), default="tail")
    args = ap.parse_args()
    if not (Path(args.cache) / "grid.json").is_file():
        ap.error(f"--cache: no joint grid in {args.cache} (run benchmarks/search_efficiency.py "
                 "--joint first)")
    rows = [_pair(Path(args.cache) / "cache", t, s, args.steps, args.schedule)
            for t, s in PAIRS]
    gaps = [r["gap_points"] for r in rows]
    print(json.dumps({"benchmark": "warm_curves", "steps": args.steps, "schedule": args.schedule,
                      "pairs": rows, "gap_points_mean": round(statistics.mean(gaps), 3),
                      "gap_points_median": round(statistics.median(gaps), 3)}))


if __name__ == "__main__":
    main()
