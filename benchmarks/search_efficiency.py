"""How much of the true Pareto front do the samplers find with a fraction of the evaluations?

A latency-only problem whose full grid is computable here: MobileBERT shapes, seq 320, axes rank x
placement x integration time x tokens x TCDM size (675 points), objectives latency (min), energy
(min) and adapter parameters (max: the adapter capacity that buys accuracy in the paper's fig. 2).
Every point is evaluated by the real objective (codesign.study.make_objective -> hw_models, SimPy
engine; hw_models memoises identical timing configurations, so repeats are cheap). Each sampler
gets ``--fraction`` of the grid's evaluations (default 20 %); its hypervolume
is compared with the whole grid's, both measured in the same objective scaling (grid min..max ->
0..1, reference point 1.1, Optuna's exact WFG hypervolume).

Prints one JSON line: grid size, budget, per sampler the hypervolume ratio (median over seeds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import optuna  # noqa: E402

from codesign.config import direction, objective_key, study_from_dict  # noqa: E402
from codesign.figures.data import hypervolume as front_hypervolume  # noqa: E402
from codesign.search_space import grid_size  # noqa: E402
from codesign.study import make_objective, make_sampler  # noqa: E402

STUDY = {
    "name": "search_efficiency",
    "population_size": 12,
    "workload": {"network": "mobilebert", "seq_len": 320},
    "search_space": {
        "rank": {"choices": [1, 2, 4, 8, 16]},
        "placement": {"choices": ["all", "qkv", "ffn"]},
        "integration_ns": {"choices": [128, 256, 512]},
        "tokens": {"choices": [8, 16, 32, 64, 128]},
        "tcdm_kib": {"choices": [64, 128, 256]},
    },
    "objectives": [{"name": "latency_us"}, {"name": "energy_uj"},
                   {"name": "adapter_params", "direction": "maximize"}],
}


def run(loaded, sampler_name: str, seed: int, budget: int, objective):
    cfg = loaded.config
    data = dict(STUDY, sampler=sampler_name, seed=seed)
    sampled = study_from_dict(data) if sampler_name != cfg.sampler else loaded
    study = optuna.create_study(directions=[direction(o) for o in cfg.objectives],
                                sampler=make_sampler(sampled, seed))
    study.optimize(objective, n_trials=budget)
    return np.array([t.values for t in study.trials if t.state.name == "COMPLETE"])


def hypervolume(points: np.ndarray, signs: np.ndarray, lo: np.ndarray, span: np.ndarray) -> float:
    scaled = (points * signs - lo) / span
    pareto = scaled[[not ((scaled <= p).all(axis=1) & (scaled < p).any(axis=1)).any()
                     for p in scaled]]
    return front_hypervolume(np.unique(pareto, axis=0), np.full(points.shape[1], 1.1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=0.2, help="budget as a fraction of the grid")
    ap.add_argument("--seeds", type=int, default=3, help="repeats per sampler (median reported)")
    ap.add_argument("--samplers", default="nsga2,tpe,random")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    loaded = study_from_dict(dict(STUDY, sampler="grid"))
    objective = make_objective(loaded, cache_dir=Path("results/.cache/accuracy"))

    t0 = time.perf_counter()
    design = loaded.config.design
    n_grid = grid_size(loaded.axes, design)
    full = run(loaded, "grid", 0, n_grid, objective)  # every point once
    grid_s = time.perf_counter() - t0
    signs = np.array([1.0 if direction(o) == "minimize" else -1.0 for o in loaded.config.objectives])
    lo = (full * signs).min(axis=0)
    span = np.where((full * signs).max(axis=0) > lo, (full * signs).max(axis=0) - lo, 1.0)
    hv_grid = hypervolume(full, signs, lo, span)

    budget = max(1, int(round(args.fraction * n_grid)))
    out = {"benchmark": "search_efficiency", "problem": "mobilebert latency/energy/adapter params",
           "objectives": [f"{objective_key(o)}:{direction(o)}" for o in loaded.config.objectives],
           "grid_points": n_grid, "grid_eval_s": round(grid_s, 1), "budget": budget,
           "budget_fraction": round(budget / n_grid, 3), "seeds": args.seeds,
           "hypervolume_grid": round(hv_grid, 5), "samplers": {}}
    for name in args.samplers.split(","):
        ratios = []
        for seed in range(args.seeds):
            points = run(loaded, name, seed, budget, objective)
            ratios.append(hypervolume(points, signs, lo, span) / hv_grid)
        out["samplers"][name] = {"hv_ratio_median": round(statistics.median(ratios), 4),
                                 "hv_ratio_min": round(min(ratios), 4),
                                 "hv_ratio_max": round(max(ratios), 4)}
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
