"""How much of the true Pareto front do the samplers find with a fraction of the evaluations?

A latency-only problem whose full grid is computable here: MobileBERT shapes, seq 320, axes rank x
placement x integration time x tokens x TCDM size (675 points), objectives latency (min), energy
(min) and adapter parameters (max: the adapter capacity that buys accuracy in the paper's fig. 2).
Every point is evaluated by the real objective (codesign.study.make_objective -> hw_models, SimPy
engine; hw_models memoises identical timing configurations, so repeats are cheap). Each sampler
gets ``--fraction`` of the grid's evaluations (default 20 %); its hypervolume
is compared with the whole grid's, both measured in the same objective scaling (grid min..max ->
0..1, reference point 1.1, Optuna's exact WFG hypervolume).

Prints one JSON line: grid size, budget, per sampler the hypervolume ratio (min, median, max
over seeds).

``--joint``: the problem with accuracy, where adapter training is the cost. MiniLM-L6 shapes and
the offline fidelity workload sized for this CPU (16 training steps of 8 sentences, 16 evaluation
sentences, one drift time, one draw); axes rank x placement x ADC bits x integration time x tokens
(144 points, 48 distinct accuracy settings: a shorter integration time than 256 ns trains its own
adapters); objectives accuracy@1d (max), latency (min), energy (min). The grid (every point, every
setting trained in full, checkpoints kept) is computed once into ``--cache`` and reused; with
``--grid-repeats 2`` (the default) it is computed a second time in an adapter cache of its own,
every setting trained again, and the difference is reported (``grid_spread``); the grid's
adapters are also measured on another chip (``--remeasure-seed``, ``grid_remeasured``: the
measurement's own noise). Then each
strategy (``STRATEGIES``: a sampler and ``search:`` settings) runs ``--seeds`` studies (default
5), each in a fresh storage (a fresh ledger) over the shared adapter cache, of the largest budget
in ``--fractions``; a smaller budget is read from the first trials of the same run (a seeded
sampler proposes the same first trials whatever the study's length). What a strategy *spends* is
read from its trials' records (steps each trial's claim trained, computed or found cached), so
cached work is shared without being free. Reported per strategy and budget: ``hv_share``
(hypervolume of its complete trials / the grid's, both scaled by the grid's ranges) and
``training_share`` (its training steps / the grid's), each as min, median, max and per seed, and
``target_met``: every seed at >= 95 % of the grid's hypervolume for <= 25 % of its training; and
``accuracy_gap_warm_points``: per seed, the median difference (accuracy points) between a
warm-started setting's accuracy and the grid's at the same point (what a cheap training loses);
``accuracy_gap_warm_by_change``: the same over every seed's points, by what the warm start
changed (the rank alone; the noise: converter bits, integration time or placement; a screen) and
whether it started from an adapter trained from scratch or a warm-started one. A budget of
``n`` trials is ``n`` proposals of the sampler; the siblings each brings (``search.siblings``:
its other tokens, the same accuracy measurement, no training) come with it and count in its
hypervolume.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import optuna  # noqa: E402

from codesign.config import direction, objective_key, study_from_dict  # noqa: E402
from codesign.hypervolume import hypervolume as front_hypervolume  # noqa: E402
from codesign.hypervolume import non_dominated  # noqa: E402
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


#: which rows of ``points`` (every objective to be minimised) no other row dominates
front = non_dominated


def hypervolume(points: np.ndarray, signs: np.ndarray, lo: np.ndarray, span: np.ndarray) -> float:
    # a point beyond the reference (worse than the grid's worst by > 10 %) adds nothing
    scaled = np.minimum((points * signs - lo) / span, 1.1)
    return front_hypervolume(np.unique(scaled[front(scaled)], axis=0),
                             np.full(points.shape[1], 1.1))


class GridScale:
    """A grid's objective scaling: each objective to be minimised (``signs``), the grid's
    min..max -> 0..1; :meth:`share` is a set of points' hypervolume over the grid's."""

    def __init__(self, full: np.ndarray, objectives) -> None:
        self.signs = np.array([1.0 if direction(o) == "minimize" else -1.0 for o in objectives])
        self.lo = (full * self.signs).min(axis=0)
        hi = (full * self.signs).max(axis=0)
        self.span = np.where(hi > self.lo, hi - self.lo, 1.0)
        self.hv = hypervolume(full, self.signs, self.lo, self.span)

    def share(self, values: np.ndarray) -> float:
        return hypervolume(values, self.signs, self.lo, self.span) / self.hv if len(values) \
            else 0.0

    def front(self, values: np.ndarray) -> set[int]:
        """The rows of ``values`` on their own front."""
        return set(np.flatnonzero(front(values * self.signs)).tolist())


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
def accuracy_parts(params: dict) -> tuple:
    """(workload, tile, LoRA, accuracy settings) of the joint problem's point ``params`` (dotted
    paths: ``lora.rank``...), as the study's training ledger trains it (layers the hardware keeps
    digital stay digital)."""
    from codesign.evaluators import accuracy_parts as parts
    from codesign.search_space import apply_params

    return parts(apply_params(study_from_dict(JOINT).config.design, params))


#: the search settings every strategy starts from: those the strategies measured up to
#: 2026-12-06 ran with (no siblings; warm starts across rank, converter bits and integration
#: time; no screens), so that each keeps its meaning when the defaults move
BEFORE = {"siblings": 0, "warm_start_axes": ["rank", "adc_bits", "dac_bits",
                                             "train_integration_ns"], "screen_steps": 0,
          "screen_placements": False, "promote_steps": 1.0, "screen_start": "distance",
          "optimism_by": "study"}
#: warm starts across rank only, 1/16 of the steps, siblings (tpe_rank1_sib's settings)...
RANK1 = {"warm_start": True, "warm_start_steps": 0.0625, "warm_start_axes": ["rank"],
         "siblings": 4}
#: ...and screens of 1/16 of the steps, judged as measured unless a strategy says otherwise
SCREEN = {"screen_steps": 0.0625, "promote_optimism": False}
#: ...promoted at 0.2 % of the front, judged with the screen loss, new placements screened too
PLACED = {**RANK1, **SCREEN, "promote_share": 0.002, "promote_optimism": True,
          "screen_placements": True}
#: each strategy: its sampler and search settings (checkpoints at 1/4 and 1/2 of the steps)
STRATEGIES = {name: {"sampler": sampler, "search": {**BEFORE, **search}} for name, (sampler, search) in {
    "base": ("nsga2", {}),
    "prune_sh": ("nsga2", {"pruner": "successive_halving", "reduction_factor": 2,
                           "min_settings": 4}),
    "prune": ("nsga2", {"pruner": "dominated", "min_settings": 2}),
    "warm": ("nsga2", {"warm_start": True, "warm_start_steps": 0.25}),
    "warm_375": ("nsga2", {"warm_start": True, "warm_start_steps": 0.375}),
    "both": ("nsga2", {"pruner": "dominated", "min_settings": 2, "warm_start": True,
                       "warm_start_steps": 0.25}),
    "tpe": ("tpe", {}),
    "tpe_warm": ("tpe", {"warm_start": True, "warm_start_steps": 0.25}),
    "tpe_warm_375": ("tpe", {"warm_start": True, "warm_start_steps": 0.375}),
    # each trial's siblings (its other tokens: the same accuracy) measured too, not counted
    "tpe_sib": ("tpe", {"siblings": 4}),
    "tpe_warm_sib": ("tpe", {"warm_start": True, "warm_start_steps": 0.25, "siblings": 4}),
    "tpe_w125_sib": ("tpe", {"warm_start": True, "warm_start_steps": 0.125, "siblings": 4}),
    # warm starts across rank only: one setting from scratch per noise (ADC bits, training
    # integration time) and placement, its other ranks from it in 1/8 or 1/16 of the steps
    # (tpe_rank1_sib: the defaults of search: on 2026-12-07, before screens)
    "tpe_rank_sib": ("tpe", {"warm_start": True, "warm_start_steps": 0.125,
                             "warm_start_axes": ["rank"], "siblings": 4}),
    "tpe_rank1_sib": ("tpe", RANK1),
    # ...and a new noise screened (1/16 or 1/8 of the steps, warm-started across noises),
    # trained in full when a screened point reaches the front (codesign.study.promotion)
    "tpe_screen": ("tpe", {**RANK1, **SCREEN, "promote_share": 0.0}),
    "tpe_screen2": ("tpe", {**RANK1, **SCREEN, "screen_steps": 0.125, "promote_share": 0.0}),
    # ...promoted only when the screened point holds 0.2, 0.3 or 0.5 % of the front's hypervolume
    # (tpe_screen_p2: the defaults of search: for a few hours on 2026-12-07)
    "tpe_screen_p2": ("tpe", {**RANK1, **SCREEN, "promote_share": 0.002}),
    "tpe_screen_p3": ("tpe", {**RANK1, **SCREEN, "promote_share": 0.003}),
    "tpe_screen_p5": ("tpe", {**RANK1, **SCREEN, "promote_share": 0.005}),
    # ...and screened points judged at their accuracy plus the screen loss measured so far
    # (tpe_screen_opt: the defaults of search: on 2026-12-07 before placement screens)
    "tpe_screen_opt": ("tpe", {**RANK1, **SCREEN, "promote_share": 0.002,
                               "promote_optimism": True}),
    "tpe_screen_opt5": ("tpe", {**RANK1, **SCREEN, "promote_share": 0.005,
                                "promote_optimism": True}),
    # ...and a new placement screened from an adapter at a placement containing its layers,
    # promotions trained in full from scratch
    "tpe_screen_pl": ("tpe", PLACED),
    # ...and a promotion trained from the screen's start for 3/4, 1/2 or 3/8 of the steps
    # (tpe_screen_pl_75: the defaults of search: 2026-12-07 before optimism_by)
    "tpe_screen_pl_75": ("tpe", {**PLACED, "promote_steps": 0.75}),
    "tpe_screen_pl_h": ("tpe", {**PLACED, "promote_steps": 0.5}),
    # ...and a screen's start the one whose differences cost screens least (measured above)
    "tpe_screen_loss": ("tpe", {**PLACED, "promote_steps": 0.75, "screen_start": "loss"}),
    "tpe_screen_pl_3": ("tpe", {**PLACED, "promote_steps": 0.375}),
    # ...and a screened point judged at the loss expected of what its screen changed, scaled by
    # the study's promotions (search.optimism_by: change; the defaults of search: since
    # 2026-12-07)
    "tpe_screen_chg": ("tpe", {**PLACED, "promote_steps": 0.75, "optimism_by": "change"}),
}.items()}
#: the --joint target: every seed at >= this share of the grid's hypervolume...
HV_TARGET = 0.95
#: ...for at most this share of its training steps
TRAINING_TARGET = 0.25


def _joint_study(loaded_data: dict, folder: Path, n_trials: int, cache_dir: Path):
    """Run one study of the joint problem in a fresh SQLite storage under ``folder`` over the
    adapter cache ``cache_dir``; return (its trial records in order, wall seconds, its ledger's
    trainings by adapter key: {"axes", "start"})."""
    import shutil

    from codesign.study import close_storage, record, run_study
    from codesign.study.ledger import ledger_name

    shutil.rmtree(folder, ignore_errors=True)
    loaded = study_from_dict(loaded_data)
    t0 = time.perf_counter()
    summary = run_study(loaded, folder, n_trials=n_trials, cache_dir=cache_dir, progress=False)
    try:
        records = record.records(summary.study)
        ledger = optuna.load_study(study_name=ledger_name(loaded.config.name),
                                   storage=summary.storage)
        trainings = {t.user_attrs["adapter_key"]: {"axes": t.user_attrs.get("axes"),
                                                   "start": t.user_attrs.get("start"),
                                                   "roles": t.user_attrs.get("roles")}
                     for t in ledger.get_trials(deepcopy=False) if "adapter_key" in t.user_attrs}
    finally:
        close_storage(summary.storage)
    return records, time.perf_counter() - t0, trainings


def _first(records, n: int) -> list:
    """The records of a run's first ``n`` proposals, each with the siblings and promotions it
    brought (:mod:`codesign.study.siblings`, :mod:`codesign.study.promotion`)."""
    proposals = 0
    for i, r in enumerate(records):
        if r.sibling_of is None and r.promotes is None:
            proposals += 1
            if proposals > n:
                return records[:i]
    return records


def _complete(records, n: int) -> np.ndarray:
    """The objective values (accuracy, latency, energy) of the complete trials among the first
    ``n`` proposals, their siblings and promotions, but the screened trials those promotions
    superseded."""
    from codesign.study.record import superseded

    first = _first(records, n)
    gone = superseded(first)
    return np.array([r.values for r in first
                     if r.state == "COMPLETE" and r.values and r.number not in gone])


def _spent(records, n: int) -> dict:
    """What the first ``n`` trials spent on training: steps their claims trained, settings they
    trained, of which warm-started."""
    mine = [r.training for r in _first(records, n)
            if r.training is not None and r.training.trained_here]
    return {"steps": sum(t.steps_trained for t in mine), "settings": len({t.setting for t in mine}),
            "warm": sum(t.start is not None for t in mine)}


def _warm_gaps(records, grid: dict, trainings: dict) -> dict[str, list[float]]:
    """How far a run's warm-started points end from the same points of the grid (trained in
    full): accuracy points, run minus grid, one per distinct warm-started point, by what the warm
    start changed ("rank": the rank alone; "noise": converter bits, training integration time or
    placement, with or without the rank: a promotion trained from its screen's start; "screen":
    a screen, :mod:`codesign.study.promotion`) and where it
    started ("from_scratch": an adapter trained from scratch; "from_warm": a warm-started one);
    screens again under "screen_by/KNOBS", by the knobs they changed besides the rank."""
    truth = {json.dumps(p, sort_keys=True): v[0] for p, v in zip(grid["params"], grid["values"])}
    out: dict[str, list[float]] = {}
    seen = set()
    for r in records:
        t = r.training
        point = json.dumps(r.params, sort_keys=True)
        if r.state != "COMPLETE" or not r.values or t is None or t.start is None or point in seen:
            continue
        seen.add(point)
        mine, start = trainings.get(t.adapter_key), trainings.get(t.start)
        if mine is None or start is None:
            continue
        moved = {k for k, v in mine["axes"].items() if start["axes"].get(k) != v} | (
            {"placement"} if mine.get("roles") != start.get("roles") else set())
        kind = ("screen" if t.screened else "rank" if moved <= {"rank"} else "noise") + (
            "/from_warm" if start["start"] else "/from_scratch")
        out.setdefault(kind, []).append(100 * (r.values[0] - truth[point]))
        if t.screened:          # what a screen lost by the knobs it changed (warm.SCREEN_LOSS)
            what = "+".join(sorted(moved - {"rank"})) or "rank"
            out.setdefault(f"screen_by/{what}", []).append(100 * (r.values[0] - truth[point]))
    return out


def _grid(root: Path, label: str, cache: Path, problem: Optional[dict] = None) -> dict:
    """The grid of ``problem`` (default ``JOINT``: every point, every setting trained in full,
    checkpoints walked and kept so that the pruning strategies resume from them) computed once
    into ``root/label.json``."""
    grid_file = root / f"{label}.json"
    if grid_file.is_file():
        return json.loads(grid_file.read_text())
    data = dict(problem or JOINT, sampler="grid", search={
        "pruner": "successive_halving", "reduction_factor": 2, "min_settings": 100000})
    loaded = study_from_dict(data)
    n_grid = grid_size(loaded.axes, loaded.config.design)
    records, wall, _ = _joint_study(data, root / label, n_grid, cache)
    spent = _spent(records, n_grid)
    grid = {"values": _complete(records, n_grid).tolist(), "settings": spent["settings"],
            "steps": spent["steps"], "wall_s": round(wall, 1),
            "params": [r.params for r in records]}
    grid_file.write_text(json.dumps(grid))
    return grid


def spread(xs: list[float]) -> dict:
    return {"min": round(min(xs), 4), "median": round(statistics.median(xs), 4),
            "max": round(max(xs), 4), "each": [round(x, 4) for x in xs]}


def _strategy(name: str, args, root: Path, budgets: list[int], scale: GridScale,
              grid: dict) -> dict:
    """Run strategy ``name`` once per seed at the largest budget; each smaller budget is read
    from the same runs' first trials (a seeded sampler proposes the same first trials whatever
    the study's length: tests/test_trial_record.py)."""
    spec = STRATEGIES[name]
    per: dict = {b: [] for b in budgets}
    gaps, by_kind = [], {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        data = dict(JOINT, sampler=spec["sampler"], seed=seed, search=spec["search"])
        records, wall, trainings = _joint_study(data, root / "runs" / f"{name}-{seed}",
                                                max(budgets), root / "cache")
        mine = _warm_gaps(records, grid, trainings)
        every = [g for kind in mine.values() for g in kind]
        gaps.append(round(statistics.median(every), 3) if every else None)
        for kind, values in mine.items():
            by_kind.setdefault(kind, []).extend(values)
        for b in budgets:
            spent = _spent(records, b)
            per[b].append({"hv_share": scale.share(_complete(records, b)),
                           "training_share": spent["steps"] / grid["steps"],
                           "settings": spent["settings"], "warm": spent["warm"],
                           "siblings": sum(r.sibling_of is not None for r in _first(records, b)),
                           "promotions": sum(r.promotes is not None for r in _first(records, b)),
                           "wall_s": wall})
    out = dict(spec)
    for b, runs in per.items():
        hv, tr = [r["hv_share"] for r in runs], [r["training_share"] for r in runs]
        out[str(b)] = {"hv_share": spread(hv), "training_share": spread(tr),
                       "settings_median": statistics.median(r["settings"] for r in runs),
                       "warm_median": statistics.median(r["warm"] for r in runs),
                       "siblings_median": statistics.median(r["siblings"] for r in runs),
                       "promotions_median": statistics.median(r["promotions"] for r in runs),
                       "target_met": min(hv) >= HV_TARGET and max(tr) <= TRAINING_TARGET}
    out["wall_s_median"] = round(statistics.median(r["wall_s"] for r in per[max(budgets)]), 1)
    warm = [g for g in gaps if g is not None]
    out["accuracy_gap_warm_points"] = spread(warm) if warm else None
    # every seed's warm-started points together, by what the warm start changed and where from
    out["accuracy_gap_warm_by_change"] = {
        kind: {"points": len(v), "median": round(statistics.median(v), 3)}
        for kind, v in sorted(by_kind.items())}
    return out


def _grid_spread(first: dict, second: dict, scale: GridScale) -> dict:
    """How far two computations of the grid (separate adapter caches, so every setting trained
    twice) are apart: the largest difference per objective and the second's hypervolume share."""
    a, b = np.array(first["values"]), np.array(second["values"])
    return {"max_abs_diff": [float(x) for x in np.abs(a - b).max(axis=0)],
            "identical": bool((a == b).all()), "hv_share_second": round(scale.share(b), 6)}


def _remeasured(root: Path, grid: dict, seed: int, scale: GridScale) -> dict:
    """The grid's adapters measured again on another chip (``accuracy.evaluation.seed``; nothing
    is trained): how far one point's accuracy moves, how many front points stay on the front."""
    import copy

    problem = copy.deepcopy(JOINT)
    problem["accuracy"]["evaluation"]["seed"] = seed
    again = np.array(_grid(root, f"grid-evalseed{seed}", root / "cache", problem)["values"])
    first = np.array(grid["values"])
    moved = 100 * (again[:, 0] - first[:, 0])
    before = scale.front(first)
    return {"evaluation_seed": seed, "accuracy_moved_points_sd": round(float(moved.std()), 3),
            "accuracy_moved_points_max": round(float(np.abs(moved).max()), 3),
            "front_points": len(before), "front_points_kept": len(before & scale.front(again)),
            "hv_share": round(scale.share(again), 4)}


def joint(args) -> dict:
    """The --joint benchmark (see the module docstring)."""
    root = Path(args.cache)
    loaded = study_from_dict(dict(JOINT, sampler="grid"))
    n_grid = grid_size(loaded.axes, loaded.config.design)
    grid = _grid(root, "grid", root / "cache")
    scale = GridScale(np.array(grid["values"]), loaded.config.objectives)
    budgets = sorted({max(1, int(round(f * n_grid))) for f in args.fractions})
    out: dict = {"benchmark": "search_efficiency --joint",
                 "problem": "minilm-l6 accuracy@1d / latency / energy",
                 "grid_points": n_grid, "grid_settings": grid["settings"],
                 "grid_training_steps": grid["steps"], "grid_wall_s": grid["wall_s"],
                 "budgets": budgets, "seeds": args.seeds, "first_seed": args.first_seed,
                 "target": {"hv_share_every_seed": HV_TARGET,
                            "training_share_at_most": TRAINING_TARGET},
                 "strategies": {}}
    if args.grid_repeats > 1:
        second = _grid(root, "grid-2", root / "cache-2")
        out["grid_spread"] = _grid_spread(grid, second, scale)
    if args.remeasure_seed is not None:
        out["grid_remeasured"] = _remeasured(root, grid, args.remeasure_seed, scale)
    for name in args.strategies.split(","):
        out["strategies"][name] = _strategy(name, args, root, budgets, scale, grid)
    met = [n for n, r in out["strategies"].items() if all(r[str(b)]["target_met"] for b in budgets)]
    out["target_met_by"] = met
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=None,
                    help="budget as a fraction of the grid (default 0.2; --joint: see "
                         "--fractions)")
    ap.add_argument("--seeds", type=int, default=None,
                    help="repeats per sampler or strategy (default 3; --joint: 5); min, median "
                         "and max reported")
    ap.add_argument("--first-seed", type=int, default=0,
                    help="--joint: the first seed (default 0): seeds first .. first+seeds-1, "
                         "e.g. --first-seed 10 --seeds 10 for ten seeds not used before")
    ap.add_argument("--samplers", default="nsga2,tpe,random")
    ap.add_argument("--joint", action="store_true",
                    help="the accuracy + latency + energy problem (adapter training is the cost)")
    ap.add_argument("--strategies", default="base,warm_375,tpe,tpe_warm,tpe_sib,tpe_warm_sib,"
                                            "tpe_rank1_sib,tpe_screen,tpe_screen_p2,"
                                            "tpe_screen_opt,tpe_screen_pl_75,tpe_screen_chg",
                    help="--joint: which of " + ", ".join(STRATEGIES))
    ap.add_argument("--fractions", default="0.4,0.6",
                    help="--joint: budgets as fractions of the grid (default 0.4,0.6: 58 and "
                         "86 trials); each strategy runs once per seed at the largest")
    ap.add_argument("--remeasure-seed", type=int, default=1,
                    help="--joint: measure the grid's adapters again on the chip of this "
                         "accuracy.evaluation.seed (nothing trained; -1: skip): how much of the "
                         "front is one chip's noise")
    ap.add_argument("--grid-repeats", type=int, default=2, choices=(1, 2),
                    help="--joint: compute the grid this many times, each in its own adapter "
                         "cache (2: the grid's own spread is reported)")
    ap.add_argument("--cache", default="results/benchmarks/search_joint",
                    help="--joint: folder of the grid (computed once), adapters and runs")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.joint:
        args.seeds = 5 if args.seeds is None else args.seeds
        args.fractions = [float(f) for f in args.fractions.split(",")]
        args.remeasure_seed = None if args.remeasure_seed < 0 else args.remeasure_seed
        unknown = [n for n in args.strategies.split(",") if n not in STRATEGIES]
        if unknown:
            ap.error(f"--strategies: unknown {unknown}; choose from {', '.join(STRATEGIES)}")
        if args.first_seed < 0:
            ap.error(f"--first-seed: {args.first_seed}; give a seed >= 0")
        t0 = time.perf_counter()
        out = joint(args)
        out["wall_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(out))
        return
    args.fraction = 0.2 if args.fraction is None else args.fraction
    args.seeds = 3 if args.seeds is None else args.seeds

    loaded = study_from_dict(dict(STUDY, sampler="grid"))
    objective = make_objective(loaded, cache_dir=Path("results/.cache/accuracy"))

    t0 = time.perf_counter()
    design = loaded.config.design
    n_grid = grid_size(loaded.axes, design)
    full = run(loaded, "grid", 0, n_grid, objective)  # every point once
    grid_s = time.perf_counter() - t0
    scale = GridScale(full, loaded.config.objectives)

    budget = max(1, int(round(args.fraction * n_grid)))
    out = {"benchmark": "search_efficiency", "problem": "mobilebert latency/energy/adapter params",
           "objectives": [f"{objective_key(o)}:{direction(o)}" for o in loaded.config.objectives],
           "grid_points": n_grid, "grid_eval_s": round(grid_s, 1), "budget": budget,
           "budget_fraction": round(budget / n_grid, 3), "seeds": args.seeds,
           "hypervolume_grid": round(scale.hv, 5), "samplers": {}}
    for name in args.samplers.split(","):
        ratios = []
        for seed in range(args.seeds):
            points = run(loaded, name, seed, budget, objective)
            ratios.append(scale.share(points))
        out["samplers"][name] = {"hv_ratio_median": round(statistics.median(ratios), 4),
                                 "hv_ratio_min": round(min(ratios), 4),
                                 "hv_ratio_max": round(max(ratios), 4)}
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
