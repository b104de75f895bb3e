"""Replay the joint grid: how much of its front each sampler finds when accuracy costs nothing.

Reads the grid that ``search_efficiency.py --joint`` computed (``--cache``/grid.json) and
runs each sampler's studies over the same space with the objective looked up in the grid (every
setting as if trained in full), so a run takes seconds. Reports, per sampler, budget and
``--deficits`` value, the share of the grid's hypervolume (min, median, max over ``--seeds``)
and the settings visited. A deficit ``d`` (accuracy points) is subtracted from every setting but
the first one of its family (what the training ledger would train from scratch:
:func:`codesign.study.warm.family`) that a run visits: a model of warm starts that end ``d`` below
a full training, which tells how close a cheap training must come for a target share. The
sampler's ceiling on this problem is the ``0`` row.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import optuna  # noqa: E402

from codesign.accuracy import cache  # noqa: E402
from codesign.config import direction, study_from_dict  # noqa: E402
from codesign.search_space import param_name, to_distributions  # noqa: E402
from codesign.study import make_sampler  # noqa: E402
from codesign.study.warm import family  # noqa: E402
from search_efficiency import JOINT, GridScale, accuracy_parts, spread  # noqa: E402


def _table(root: Path) -> dict:
    """The grid's objective values by point (its params, sorted)."""
    grid_file = root / "grid.json"
    if not grid_file.is_file():
        print(f"--cache: no joint grid in {root} (run benchmarks/search_efficiency.py --joint "
              "first)", file=sys.stderr)
        raise SystemExit(2)
    grid = json.loads(grid_file.read_text())
    return {tuple(sorted(p.items())): v for p, v in zip(grid["params"], grid["values"])}


@functools.lru_cache(maxsize=None)
def _setting(point: tuple) -> tuple[str, str]:
    """(train key, warm-start family) of a point's accuracy setting, as the ledger sees them."""
    loaded = study_from_dict(JOINT)
    paths = {param_name(p): p for p in to_distributions(loaded.axes, loaded.config.design)}
    parts = accuracy_parts({paths[k]: v for k, v in point})
    return cache.train_key(*parts), family(cache.train_key_data(*parts))


def _run(table: dict, sampler: str, seed: int, budget: int, deficit: float) -> tuple:
    loaded = study_from_dict(dict(JOINT, sampler=sampler, seed=seed))
    dists = {param_name(p): d for p, d in to_distributions(loaded.axes, loaded.config.design).items()}
    study = optuna.create_study(directions=[direction(o) for o in loaded.config.objectives],
                                sampler=make_sampler(loaded, seed))
    seen: dict = {}
    for _ in range(budget):
        trial = study.ask(dists)
        point = tuple(sorted(trial.params.items()))
        values = list(table[point])
        setting, fam = _setting(point)
        if setting not in seen:   # the first setting of a family trains from scratch
            first = all(f != fam for f, _ in seen.values())
            seen[setting] = (fam, 0.0 if first else deficit / 100)
        values[0] -= seen[setting][1]
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
    scale = GridScale(np.array(list(table.values())), study_from_dict(JOINT).config.objectives)
    out: dict = {"benchmark": "search_replay", "grid_points": len(table), "seeds": args.seeds,
                 "samplers": {}}
    for name in args.samplers.split(","):
        rows = out["samplers"][name] = {}
        for fraction in map(float, args.fractions.split(",")):
            budget = int(round(fraction * len(table)))
            for deficit in map(float, args.deficits.split(",")):
                runs = [_run(table, name, seed, budget, deficit) for seed in range(args.seeds)]
                rows[f"{budget} trials, deficit {deficit:g}"] = {
                    "hv_share": spread([scale.share(v) for v, _ in runs]),
                    "settings_median": statistics.median(n for _, n in runs)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
