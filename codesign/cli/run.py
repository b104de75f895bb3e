"""``codesign run STUDY.yaml``: create or resume a study, then write its results."""

from __future__ import annotations

import argparse

from codesign.cli._common import add_command, positive_int
from codesign.cli._study_args import add_study_arguments, load, results_folder, storage_url
from codesign.config.study import MAX_TRIALS

EXAMPLES = """\
  codesign run studies/quickstart.yaml                 # the small end-to-end study
  codesign run studies/quickstart.yaml --n-trials 40   # resume it and grow it to 40 trials
  codesign run studies/paper_mobilebert.yaml --set hardware.pmca.tcdm_kib=256
  # many workers, many machines, one study (start the same command on each):
  codesign run studies/paper_mobilebert.yaml --storage postgresql://user:pass@db-host/codesign
"""


def add_parser(sub) -> None:
    p = add_command(sub, "run", help="run (or resume) a design-space study",
                    description="Create the study named in STUDY.yaml, or resume it, and add trials "
                                "until it holds n_trials. Then write results/<name>/trials.csv, "
                                "pareto.csv, pareto.png and config.yaml. Several processes on one "
                                "--storage are workers of the same study.",
                    examples=EXAMPLES)
    add_study_arguments(p)
    p.add_argument("--n-trials", type=positive_int("--n-trials", MAX_TRIALS), default=None, metavar="N",
                   help="total trials the study should hold (default: the file's n_trials)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--heartbeat-s", type=positive_int("--heartbeat-s", 3600), default=10, metavar="S",
                   help="trial heartbeat period; a trial silent for 3x this long (its worker died) "
                        "is marked failed and re-queued with the same parameters (default: 10)")
    p.add_argument("--outage-s", type=positive_int("--outage-s", 3600), default=60, metavar="S",
                   help="how long a worker rides out a database that does not answer (a server "
                        "restart), retrying with a growing pause, before it stops with one line "
                        "and exit 2; the study keeps every finished trial (default: 60)")
    # fault-tolerance drills: make every trial last at least S seconds (see tests/test_workers.py)
    p.add_argument("--min-trial-s", type=float, default=0.0, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args) -> int:
    from codesign.outage import disk_full_names
    from codesign.results import pareto_table, summary_lines, trials_table, write_results
    from codesign.study import close_storage, redact, run_study

    loaded = load(args)
    folder = results_folder(args, loaded)
    summary = run_study(loaded, args.out, n_trials=args.n_trials, storage_url=storage_url(args, loaded),
                        progress=not args.no_progress, heartbeat_s=args.heartbeat_s,
                        min_trial_s=args.min_trial_s, outage_s=args.outage_s)
    try:
        with disk_full_names(folder):
            paths = write_results(summary.study, loaded, folder, summary.storage_url)
        table = trials_table(summary.study, loaded)
        front = pareto_table(summary.study, loaded, table)
    finally:
        close_storage(summary.storage)
    for line in summary_lines(table, front, loaded):
        print(line)
    print(f"storage: {redact(summary.storage_url)}")
    print(f"results: {folder}/ (" + ", ".join(p.name for p in paths.values()) + ")")
    if summary.gave_up:
        print("stopped: 5 trials in a row failed; see 'reason' in trials.csv")
        return 1
    return 0
