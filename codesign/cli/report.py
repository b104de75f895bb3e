"""``codesign report STUDY.yaml``: a self-contained HTML report of a study."""

from __future__ import annotations

from pathlib import Path

from codesign.cli._common import add_command
from codesign.cli._study_args import add_study_arguments, load, open_existing, results_folder

EXAMPLES = """\
  codesign report studies/quickstart.yaml              # -> results/quickstart/report.html
  codesign report studies/quickstart.yaml --out /tmp/r # -> /tmp/r/quickstart/report.html
  codesign report studies/quickstart.yaml --html paper/quickstart.html
"""


def add_parser(sub) -> None:
    p = add_command(sub, "report", help="write a self-contained HTML report of a study",
                    description="Figures (also saved as PNG and SVG under <out>/<name>/figures/), "
                                "the Pareto-front table, the picked configuration (picked.yaml, "
                                "when `codesign pick` has run) and the study settings in one HTML "
                                "file with every image embedded: it opens offline, anywhere.",
                    examples=EXAMPLES)
    add_study_arguments(p, with_set=False)
    p.add_argument("--html", metavar="FILE", type=Path, default=None,
                   help="write the report here instead of <out>/<name>/report.html")
    p.add_argument("--no-models", action="store_true",
                   help="leave out the figures from the hardware model (fig. 4a-c types)")
    p.set_defaults(func=run)


def run(args) -> int:
    from codesign.report import write_report

    loaded = load(args)
    folder = results_folder(args, loaded)
    study, url = open_existing(args, loaded)
    path = write_report(study, loaded, url, folder, path=args.html, models=not args.no_models)
    print(f"report: {path}")
    print(f"figures: {folder / 'figures'}/ (PNG and SVG)")
    return 0
