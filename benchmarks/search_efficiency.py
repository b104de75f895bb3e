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

``--joint``: the problem with accuracy, where adapter training is the cost. MiniLM-L6 shapes and
the offline fidelity workload sized for this CPU (16 training steps of 8 sentences, 16 evaluation
sentences, one drift time, one draw); axes rank x placement x ADC bits x integration time x tokens
(144 points, 48 distinct accuracy settings: a shorter integration time than 256 ns trains its own
adapters); objectives accuracy@1d (max), latency (min), energy (min). The grid (every point, every
setting trained in full, checkpoints kept) is computed once into ``--cache`` and reused. Then each
strategy (``base``: the factorised search, each setting trained in full once; ``prune_sh``: +
Optuna's successive halving on accuracy; ``prune``: + the multi-objective ``dominated`` pruner;
``warm``: + warm starts; ``both``: dominated pruning and warm starts) runs ``--seeds`` studies of
``--fraction`` of the grid's points, each in a fresh storage (a fresh ledger) over the shared
adapter cache: what a strategy *spends* is read from its own ledger (steps advanced per setting,
whether computed or found cached), so cached work is shared without being free. Reported per
strategy (median over seeds): ``hv_share`` (hypervolume of its complete trials / the grid's, both
scaled by the grid's ranges) and ``training_share`` (its training steps / the grid's).
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
    # a point beyond the reference (worse than the grid's worst by > 10 %) adds nothing
    scaled = np.minimum((points * signs - lo) / span, 1.1)
    pareto = scaled[[not ((scaled <= p).all(axis=1) & (scaled < p).any(axis=1)).any()
                     for p in scaled]]
    return front_hypervolume(np.unique(pareto, axis=0), np.full(points.shape[1], 1.1))


JOINT = {
    "name": "search_joint",
    "population_size": 8,
    "workload": {"network": "minilm-l6", "seq_len": 128,
                 "accuracy": {"name": "minilm-fidelity", "n_train": 64, "n_eval": 16,
                              "max_seq_len": 32, "eval_batch_size": 16}},
    "hardware": {"aimc": {"integration_ns": 256}, "tokens": 16},
    "lora": {"rank": 4, "placement": "all"},
    "accuracy": {"training": {"steps": 16, "batch_size": 8},
                 "evaluation": {"drift_times": ["1d"], "n_draws": 1}},
    "search_space": {
        "rank": {"choices": [1, 2, 4, 16]},
        "placement": {"choices": ["all", "qkv", "ffn"]},
        "adc_bits": {"choices": [6, 8]},
        "integration_ns": {"choices": [128, 256, 512]},
        "tokens": {"choices": [8, 32]},
    },
    "objectives": [{"name": "accuracy", "at": "1d"}, {"name": "latency_us"},
                   {"name": "energy_uj"}],
}
#: the search settings of each strategy (checkpoints at 1/4 and 1/2 of the steps)
STRATEGIES = {
    "base": {},
    "prune_sh": {"pruner": "successive_halving", "reduction_factor": 2, "min_settings": 4},
    "prune": {"pruner": "dominated", "min_settings": 2},
    "warm": {"warm_start": True, "warm_start_steps": 0.25},
    "warm_375": {"warm_start": True, "warm_start_steps": 0.375},
    "both": {"pruner": "dominated", "min_settings": 2, "warm_start": True,
             "warm_start_steps": 0.25},
}

def _joint_study(loaded_data: dict, folder: Path, n_trials: int, cache_dir: Path):
    """Run one study of the joint problem in a fresh SQLite storage under ``folder`` over the
    shared adapter cache ``cache_dir``; return (objective values of its complete trials, its
    ledger's training figures, wall seconds)."""
    from codesign.config import study_from_dict
    from codesign.study.ledger import training_steps
    from codesign.study import close_storage, run_study

    loaded = study_from_dict(loaded_data)
    t0 = time.perf_counter()
    summary = run_study(loaded, folder, n_trials=n_trials, cache_dir=cache_dir, progress=False)
    try:
        values = np.array([t.values for t in summary.study.get_trials(deepcopy=False)
                           if t.state.name == "COMPLETE"])
        spent = training_steps(summary.storage, loaded.config.name)
    finally:
        close_storage(summary.storage)
    return values, spent, time.perf_counter() - t0


def joint(args) -> dict:
    """The --joint benchmark (see the module docstring)."""
    import shutil

    from codesign.config import study_from_dict

    root = Path(args.cache)
    grid_data = dict(JOINT, sampler="grid", search={
        # checkpoints walked and kept (nothing is pruned: min_settings above the grid's size),
        # so the strategies that prune resume from them
        "pruner": "successive_halving", "reduction_factor": 2, "min_settings": 100000})
    loaded = study_from_dict(grid_data)
    n_grid = grid_size(loaded.axes, loaded.config.design)
    steps = loaded.config.accuracy.training.steps
    grid_file = root / "grid.json"
    if grid_file.is_file():
        grid = json.loads(grid_file.read_text())
    else:
        folder = root / "grid"
        shutil.rmtree(folder, ignore_errors=True)
        values, spent, wall = _joint_study(grid_data, folder, n_grid, root / "cache")
        grid = {"values": values.tolist(), "settings": spent["trainings"],
                "steps": spent["trainings"] * steps, "wall_s": round(wall, 1)}
        grid_file.write_text(json.dumps(grid))
    full = np.array(grid["values"])
    signs = np.array([1.0 if direction(o) == "minimize" else -1.0 for o in loaded.config.objectives])
    lo = (full * signs).min(axis=0)
    hi = (full * signs).max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    hv_grid = hypervolume(full, signs, lo, span)
    budget = max(1, int(round(args.fraction * n_grid)))
    out: dict = {"benchmark": "search_efficiency --joint",
                 "problem": "minilm-l6 accuracy@1d / latency / energy",
                 "grid_points": n_grid, "grid_settings": grid["settings"],
                 "grid_training_steps": grid["steps"], "grid_wall_s": grid["wall_s"],
                 "budget": budget, "budget_fraction": round(budget / n_grid, 3),
                 "sampler": args.sampler, "seeds": args.seeds, "strategies": {}}
    for name in args.strategies.split(","):
        runs = []
        for seed in range(args.seeds):
            folder = root / "runs" / f"{name}-{seed}"
            shutil.rmtree(folder, ignore_errors=True)
            data = dict(JOINT, sampler=args.sampler, seed=seed, search=STRATEGIES[name])
            values, spent, wall = _joint_study(data, folder, budget, root / "cache")
            runs.append({"hv_share": hypervolume(values, signs, lo, span) / hv_grid
                         if len(values) else 0.0,
                         "training_share": spent["steps"] / grid["steps"],
                         "settings": spent["trainings"], "pruned": spent["pruned"],
                         "warm": spent["warm"], "wall_s": wall})
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        out["strategies"][name] = {
            "hv_share": round(med["hv_share"], 4), "training_share": round(med["training_share"], 4),
            "hv_share_each": [round(r["hv_share"], 4) for r in runs],
            "training_share_each": [round(r["training_share"], 4) for r in runs],
            "settings_median": med["settings"], "pruned_median": med["pruned"],
            "warm_median": med["warm"], "wall_s_median": round(med["wall_s"], 1)}
    ok = {n: r for n, r in out["strategies"].items() if r["hv_share"] >= 0.95}
    best = min(ok or out["strategies"], key=lambda n: (out["strategies"][n]["training_share"],
                                                       -out["strategies"][n]["hv_share"]))
    out.update(best=best, hv_share=out["strategies"][best]["hv_share"],
               training_share=out["strategies"][best]["training_share"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=None,
                    help="budget as a fraction of the grid (default 0.2; --joint: 0.4)")
    ap.add_argument("--seeds", type=int, default=3, help="repeats per sampler (median reported)")
    ap.add_argument("--samplers", default="nsga2,tpe,random")
    ap.add_argument("--joint", action="store_true",
                    help="the accuracy + latency + energy problem (adapter training is the cost)")
    ap.add_argument("--sampler", default="nsga2", help="--joint: the sampler of every strategy")
    ap.add_argument("--strategies", default=",".join(STRATEGIES),
                    help="--joint: which of " + ", ".join(STRATEGIES))
    ap.add_argument("--cache", default="results/benchmarks/search_joint",
                    help="--joint: folder of the grid (computed once), adapters and runs")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.joint:
        args.fraction = 0.4 if args.fraction is None else args.fraction
        t0 = time.perf_counter()
        out = joint(args)
        out["wall_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(out))
        return
    args.fraction = 0.2 if args.fraction is None else args.fraction

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
