"""Replay the joint grid: how much of its front each sampler finds when accuracy costs nothing.

Reads the grid that ``search_efficiency.py --joint`` computed (its study in ``--cache``/grid) and
runs each sampler's studies over the same space with the objective looked up in the grid (every
setting as if trained in full), so a run takes seconds. Reports, per sampler, budget and
``--deficits`` value, the share of the grid's hypervolume (min, median, max over ``--seeds``)
and the settings visited. A deficit ``d`` (accuracy points) is subtracted from every setting but
the first one of its placement that a run visits: a model of warm starts that end ``d`` below a
full training, which tells how close a cheap training must come for a target share. The
sampler's ceiling on this problem is the ``0`` row.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import optuna  # noqa: E402

from codesign.config import direction, study_from_dict  # noqa: E402
from codesign.search_space import param_name, to_distributions  # noqa: E402
from codesign.study import make_sampler  # noqa: E402
from search_efficiency import JOINT, hypervolume  # noqa: E402


def _table(root: Path) -> dict:
    """The grid's objective values by point (its params, sorted)."""
    db = root / "grid" / JOINT["name"] / "study.db"
    if not db.is_file():
        print(f"--cache: no joint grid in {root} (run benchmarks/search_efficiency.py --joint "
              "first)", file=sys.stderr)
        raise SystemExit(2)
    storage = f"sqlite:///{db}"
    study = optuna.load_study(study_name=JOINT["name"], storage=storage)
    return {tuple(sorted(t.params.items())): t.values for t in study.trials
            if t.state.name == "COMPLETE"}


def _setting(params: dict) -> tuple:
    """The accuracy setting of a point (integration times of 256 ns and more share adapters)."""
    t = params["integration_ns"]
    return (params["rank"], params["placement"], params["adc_bits"], t if t < 256 else 256)


def _run(table: dict, sampler: str, seed: int, budget: int, deficit: float) -> tuple:
    loaded = study_from_dict(dict(JOINT, sampler=sampler, seed=seed))
    dists = {param_name(p): d for p, d in to_distributions(loaded.axes, loaded.config.design).items()}
    study = optuna.create_study(directions=[direction(o) for o in loaded.config.objectives],
                                sampler=make_sampler(loaded, seed))
    seen: dict = {}
    for _ in range(budget):
        trial = study.ask(dists)
        values = list(table[tuple(sorted(trial.params.items()))])
        setting = _setting(trial.params)
        if setting not in seen:   # the first setting of a placement trains from scratch
            first = all(s[1] != setting[1] for s in seen)
            seen[setting] = 0.0 if first else deficit / 100
        values[0] -= seen[setting]
        study.tell(trial, values)
    return np.array([t.values for t in study.trials]), len(seen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="results/benchmarks/search_joint",
                    help="the folder search_efficiency.py --joint computed its grid into")
    ap.add_argument("--samplers", default="nsga2,tpe,random")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--fractions", default="0.4,0.6")
    ap.add_argument("--deficits", default="0",
                    help="accuracy points a warm-started setting ends below full training")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    table = _table(Path(args.cache))
    full = np.array(list(table.values()))
    signs = np.array([-1.0, 1.0, 1.0])        # accuracy (max), latency, energy (min)
    lo, hi = (full * signs).min(axis=0), (full * signs).max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    hv_grid = hypervolume(full, signs, lo, span)
    out: dict = {"benchmark": "search_replay", "grid_points": len(table), "seeds": args.seeds,
                 "samplers": {}}
    for name in args.samplers.split(","):
        rows = out["samplers"][name] = {}
        for fraction in map(float, args.fractions.split(",")):
            budget = int(round(fraction * len(table)))
            for deficit in map(float, args.deficits.split(",")):
                runs = [_run(table, name, seed, budget, deficit) for seed in range(args.seeds)]
                hv = [hypervolume(v, signs, lo, span) / hv_grid for v, _ in runs]
                rows[f"{budget} trials, deficit {deficit:g}"] = {
                    "hv_share": {"min": round(min(hv), 4), "median": round(statistics.median(hv), 4),
                                 "max": round(max(hv), 4)},
                    "settings_median": statistics.median(n for _, n in runs)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
