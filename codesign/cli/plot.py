"""``codesign plot STUDY.yaml``: draw every figure of a study as PNG and SVG (or PDF)."""

from __future__ import annotations

from codesign.cli._common import add_command
from codesign.cli._study_args import add_study_arguments, load, open_existing, results_folder
from codesign.errors import InputError

EXAMPLES = """\
  codesign plot studies/quickstart.yaml                      # -> results/quickstart/figures/
  codesign plot studies/quickstart.yaml --format pdf --only pareto,drift
"""


def add_parser(sub) -> None:
    p = add_command(sub, "plot", help="draw the figures of a study (PNG, SVG, PDF)",
                    description="Read the study from its storage (it is not modified) and write "
                                "<out>/<name>/figures/<figure>.<format>: pareto, hypervolume, "
                                "parallel, drift and rank_sweep (accuracy studies), and from the "
                                "hardware model tokens_sweep, tcdm and layer_latency (for the "
                                "picked configuration when picked.yaml exists).",
                    examples=EXAMPLES)
    add_study_arguments(p, with_set=False)
    p.add_argument("--format", default="png,svg", metavar="FMT[,FMT]",
                   help="comma-separated: png, svg, pdf (default: png,svg)")
    p.add_argument("--only", default=None, metavar="NAME[,NAME]",
                   help="only these figures (names as above)")
    p.add_argument("--no-models", action="store_true",
                   help="leave out the figures from the hardware model")
    p.set_defaults(func=run)


def run(args) -> int:
    from codesign.figures import study_figures, write_figures
    from codesign.figures.draw import FORMATS
    from codesign.report import load_picked
    from codesign.results import pareto_table, trials_table

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise InputError(f"--format: expected a comma-separated list of {', '.join(FORMATS)}, "
                         f"got {args.format!r}")
    loaded = load(args)
    folder = results_folder(args, loaded)
    study, _ = open_existing(args, loaded)
    table = trials_table(study, loaded)
    figs = study_figures(study, loaded, table, pareto_table(study, loaded, table),
                         picked=load_picked(folder, loaded.config.name), models=not args.no_models)
    chosen = figs.figures
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        known = [f.stem for f in figs.figures] + list(figs.skipped)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(f"--only: unknown figure {unknown[0]!r}; this study has "
                             + ", ".join(f.stem for f in figs.figures))
        chosen = [f for f in figs.figures if f.stem in names]
    written = write_figures(chosen, folder / "figures", formats)
    for stem, paths in written.items():
        print(f"{stem}: " + ", ".join(str(p) for p in paths))
    for stem, why in figs.skipped.items():
        if not args.only or stem in args.only.split(","):
            print(f"{stem}: not drawn ({why})")
    return 0
