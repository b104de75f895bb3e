"""``codesign pareto STUDY.yaml``: re-derive pareto.csv, the tables and plots from the storage."""

from __future__ import annotations

from codesign.cli._common import add_command
from codesign.cli._study_args import add_study_arguments, load, open_existing, results_folder
from codesign.outage import disk_full_names

EXAMPLES = """\
  codesign pareto studies/quickstart.yaml
  codesign pareto studies/paper_mobilebert.yaml --storage postgresql://user:pass@db-host/codesign
"""


def add_parser(sub) -> None:
    p = add_command(sub, "pareto", help="rebuild results tables and plots from the storage",
                    description="Read the study from its storage (it is not modified) and rewrite "
                                "results/<name>/trials.csv, pareto.csv, pareto.png and config.yaml.",
                    examples=EXAMPLES)
    add_study_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from codesign.results import pareto_table, summary_lines, trials_table, write_results

    loaded = load(args)
    folder = results_folder(args, loaded)
    study, url = open_existing(args, loaded)
    with disk_full_names(folder):
        paths = write_results(study, loaded, folder, url)
    table = trials_table(study, loaded)
    for line in summary_lines(table, pareto_table(study, loaded, table), loaded):
        print(line)
    print(f"results: {folder}/ (" + ", ".join(p.name for p in paths.values()) + ")")
    return 0
