"""``codesign sensitivity``: each layer's (or role's) loss of accuracy when only it is analog."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from codesign.cli._common import (add_command, add_converter_bits, field_flag, field_range,
                                  print_json)
from codesign.errors import InputError

EXAMPLES = """\
  # MiniLM's 36 layers on the offline fidelity workload, 32 sentences, 2 chips, at 1 day
  codesign sensitivity --n-eval 32 --draws 2 --at 1d
  # by role (query, key, value, attn_out, ffn_in, ffn_out), 6-bit converters
  codesign sensitivity --by role --adc-bits 6
  # then keep the 4 most sensitive layers digital in a study:
  #   hardware: {digital: {layers: top-4, ranking: results/sensitivity/ranking_layer.json}}
  # or search over it:  search_space: {digital_layers: {choices: [none, top-2, top-4]}}

Writes <out>/ranking_<by>.json (kind codesign-sensitivity: the units, most sensitive first, each
with name, modules, analog (mean), std, draws, drop = digital - analog) and <out>/sensitivity_<by>.png.
No adapters are trained: this is the analog-before figure of each unit alone.
"""

AT = "1d"


def add_parser(sub) -> None:
    from codesign.accuracy.sensitivity import ONLY, UNITS

    p = add_command(sub, "sensitivity", help="rank layers by their loss of accuracy when only "
                                             "they are analog",
                    description="Convert one layer (or one role's layers) at a time to simulated "
                                "PCM tiles, program and drift it, and measure the loss of the "
                                "task metric against the digital model; rank the layers and "
                                "write the ranking (the order `digital_layers: top-K` takes) "
                                "and a bar figure.",
                    examples=EXAMPLES)
    p.add_argument("--workload", metavar="NAME_OR_YAML", default=None,
                   help="a built-in workload (minilm-fidelity, the default) or a YAML file of "
                        "workload fields, as `codesign accuracy --workload`")
    p.add_argument("--by", choices=UNITS, default="layer",
                   help="one unit per layer (the default) or per role")
    p.add_argument("--only", choices=ONLY, default="analog",
                   help="analog (default): each unit alone on tiles, its loss against the "
                        "digital model; digital: each unit alone kept digital, the accuracy it "
                        "regains against the all-analog model (slower: every other layer is "
                        "programmed)")
    p.add_argument("--at", default=AT, metavar="T",
                   help=f"drift time after programming, e.g. 0s, 1d, 1y (default {AT})")
    p.add_argument("--n-eval", type=field_flag("--n-eval", "workload.accuracy.n_eval"),
                   default=32, metavar="N",
                   help=f"evaluation examples, {field_range('workload.accuracy.n_eval')} "
                        "(default 32)")
    p.add_argument("--draws", type=field_flag("--draws", "accuracy.evaluation.n_draws"),
                   default=2, metavar="N",
                   help=f"chips (programming draws) per unit, "
                        f"{field_range('accuracy.evaluation.n_draws')} (default 2)")
    add_converter_bits(p, adc_default="8", dac_default="= --adc-bits")
    p.add_argument("--out", type=Path, default=Path("results") / "sensitivity",
                   help="folder for the ranking and the figure (default results/sensitivity)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="torch device (default auto)")
    p.add_argument("--json", action="store_true", help="print the ranking as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def request(args):
    """(workload, aimc, settings) of the flags; InputError naming a flag on bad input."""
    from hw_models.specs import AimcTileSpec

    from codesign.accuracy.settings import (AccuracySettings, EvaluationSettings,
                                            check_drift_label)
    from codesign.cli.accuracy import load_workload

    try:
        check_drift_label(args.at, "--at")
    except ValueError as exc:
        raise InputError(str(exc)) from None
    workload = dataclasses.replace(load_workload(args.workload), n_eval=args.n_eval)
    adc = args.adc_bits or AimcTileSpec().adc_bits
    aimc = AimcTileSpec(adc_bits=adc, dac_bits=args.dac_bits or adc)
    settings = AccuracySettings(device=args.device,
                                evaluation=EvaluationSettings(n_draws=args.draws))
    return workload, aimc, settings


def run(args: argparse.Namespace) -> int:
    from codesign.accuracy.sensitivity import draw, measure, write_ranking

    workload, aimc, settings = request(args)
    result = measure(workload, aimc, settings, by=args.by, at=args.at, progress=not args.quiet,
                     only=args.only)
    tag = args.by if args.only == "analog" else f"{args.by}_digital"
    path = write_ranking(result, args.out / f"ranking_{tag}.json")
    figure = draw(result, args.out / f"sensitivity_{tag}.png")
    if args.json:
        print_json(result)
        return 0
    what = ("loss when only this {} is analog" if args.only == "analog" else
            "regained when only this {} is digital (all analog: " +
            f"{result['all_analog']:.4f})").format(args.by)
    print(f"{result['metric']} digital {result['digital']:.4f}; {what} at {args.at} "
          f"({args.draws} draws):")
    for k, row in enumerate(result["ranking"], 1):
        print(f"  {k:2d}. {row['name']:<28} {row['drop']:+.4f} ± {row['std']:.4f}")
    print(f"ranking: {path}\nfigure:  {figure}")
    return 0
