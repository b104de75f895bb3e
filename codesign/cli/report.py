"""``codesign report STUDY.yaml``: a self-contained HTML report of a study (Results issue)."""

from __future__ import annotations

from codesign.cli._common import add_command
from codesign.cli._study_args import add_study_arguments, load, open_existing
from codesign.errors import NotAvailable


def add_parser(sub) -> None:
    p = add_command(sub, "report", help="write a self-contained HTML report of a study",
                    description="Figures, the front table, the picked configuration and the study "
                                "settings in one HTML file.",
                    examples="  codesign report studies/quickstart.yaml\n")
    add_study_arguments(p, with_set=False)
    p.set_defaults(func=run)


def run(args) -> int:
    loaded = load(args)
    open_existing(args, loaded)
    raise NotAvailable("report: not available yet (the Results issue builds it)")
