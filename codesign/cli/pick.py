"""``codesign pick STUDY.yaml --require EXPR ... [--prefer OBJECTIVE]``."""

from __future__ import annotations

import dataclasses

from codesign.cli._common import add_command
from codesign.cli._study_args import add_study_arguments, load, open_existing, results_folder

EXAMPLES = """\
  codesign pick studies/quickstart.yaml                               # the knee of the front
  codesign pick studies/quickstart.yaml --require 'latency_us<=120' --require 'accuracy>=0.85'
  codesign pick studies/quickstart.yaml --require 'tcdm_fits' --prefer accuracy@1d
Metrics: latency_us, aimc_only_us, overhead, energy_uj, adapter_params, tcdm_kib, tcdm_fits,
accuracy (mean over drift times), accuracy@1d / @1y / @worst ..., accuracy_before.
"""


def add_parser(sub) -> None:
    p = add_command(sub, "pick", help="pick one configuration from the front under constraints",
                    description="Choose among the feasible Pareto-front trials that meet every "
                                "--require (the knee point unless --prefer names an objective), "
                                "print why, and write results/<name>/picked.yaml. Exit 1 when no "
                                "trial qualifies, listing the closest ones.",
                    examples=EXAMPLES)
    add_study_arguments(p, with_set=False)
    p.add_argument("--require", metavar="EXPR", action="append", default=[],
                   help="METRIC OP NUMBER, e.g. 'latency_us<=120' (repeatable)")
    p.add_argument("--prefer", metavar="OBJECTIVE", default=None,
                   help="choose the best in this metric instead of the knee point (higher or lower "
                        "as its objective says, else as the metric's natural direction)")
    p.set_defaults(func=run)


def _from_drift(study, table, name: str):
    """A column ``accuracy@1y:p10`` computed from each trial's stored drift series (NaN where a
    trial has none: failed, pruned or without accuracy)."""
    from codesign.evaluators import accuracy_metrics
    from codesign.study.record import records

    drift = {r.number: r.drift for r in records(study)}

    def one(number) -> float:
        d = drift.get(int(number))
        if d is None or not d.analog_after:
            return float("nan")
        return accuracy_metrics(d.analog_after, d.analog_before, [name])[name]

    return table["number"].map(one).astype(float)


def run(args) -> int:
    import yaml

    from codesign.config import direction, objective_key
    from codesign.errors import InputError
    from codesign.files import write_atomic
    from codesign.metric_key import MetricKey
    from codesign.metrics import check_key, parse_rule
    from codesign.pick import pick
    from codesign.plain import plain
    from codesign.results import pareto_table, trials_table
    from codesign.search_space import apply_params, param_name

    loaded = load(args)
    rules = [parse_rule(text, f"--require {text!r}") for text in args.require]
    objectives = [(objective_key(o), direction(o)) for o in loaded.config.objectives]
    if args.prefer is not None:
        check_key(args.prefer, "--prefer")  # a known metric name
    folder = results_folder(args, loaded)
    study, _ = open_existing(args, loaded)
    table = trials_table(study, loaded)
    for col in [r.metric for r in rules] + ([args.prefer] if args.prefer else []):
        if col not in table.columns and MetricKey.parse(col).quantile:  # not recorded by the study
            table[col] = _from_drift(study, table, col)
    for col in [r.metric for r in rules] + ([args.prefer] if args.prefer else []):
        if col not in table.columns:
            raise InputError(f"--require/--prefer: this study did not record {col!r}; it has "
                             + ", ".join(c for c in table.columns if c not in ("number", "state")))
    result = pick(pareto_table(study, loaded, table), table, rules, objectives, args.prefer)
    if result.chosen is None:
        print(f"no configuration: {result.why}")
        if not result.closest.empty:
            print("closest trials:")
            cols = ["number"] + [c for c, _ in objectives] + [r.metric for r in rules
                                                               if r.metric not in dict(objectives)]
            print(result.closest[list(dict.fromkeys(cols + ["violation"]))].to_string(index=False))
        return 1
    row = result.chosen
    values = {path: plain(row[param_name(path)]) for path in loaded.axes}
    params = {param_name(path): value for path, value in values.items()}
    point = apply_params(loaded.config.design, values)
    keys = [c for c, _ in objectives]
    picked = {
        "study": loaded.config.name,
        "trial": int(row["number"]),
        "why": result.why,
        "requirements": [str(r) for r in rules],
        "params": params,
        "objectives": {k: plain(row[k]) for k in keys},
        "design": plain(dataclasses.asdict(point)),
    }
    path = folder / "picked.yaml"
    write_atomic(path, yaml.safe_dump(picked, sort_keys=False))
    print(f"picked trial #{picked['trial']}: {result.why}")
    for k, v in params.items():
        print(f"  {k} = {v}")
    for k, v in picked["objectives"].items():
        print(f"  -> {k} = {v:.6g}" if isinstance(v, float) else f"  -> {k} = {v}")
    print(f"written: {path}")
    return 0
