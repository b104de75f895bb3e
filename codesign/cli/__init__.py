"""The ``codesign`` command line (contract: docs/reference/contract.md).

Each subcommand lives in its own module with ``add_parser(subparsers)``; its handler returns an exit
code. Bad input anywhere (flags, YAML, values) ends in one line on stderr and exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from typing import NoReturn

from codesign import __version__
from codesign.errors import INPUT_ERRORS, NotAvailable

#: subcommand modules, in the order ``--help`` lists them
SUBCOMMANDS = ("latency", "accuracy", "sensitivity", "run", "pareto", "pick", "plot", "report")
#: the subcommands that open an Optuna storage
STUDY_COMMANDS = ("run", "pareto", "pick", "plot", "report")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (and exit 2) instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="codesign",
        description="Hardware/algorithm co-design of analog in-memory computing accelerators with "
                    "digital LoRA adapters (AHWA-LoRA).",
        epilog="Start with: codesign run studies/quickstart.yaml   (then: codesign pick ...)\n"
               "Each subcommand has its own --help with examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"codesign {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        import_module(f"codesign.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.command in STUDY_COMMANDS:
        _quiet_optuna()
    try:
        return int(args.func(args) or 0)
    except INPUT_ERRORS as exc:
        print(f"codesign {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except NotAvailable as exc:
        print(f"codesign {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        from codesign.outage import is_disk_full

        if not is_disk_full(exc):
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"codesign {args.command}: error: no space left on the device{where}; the study "
              f"keeps every finished trial: free space and run the same command again",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        detail = f": {exc}" if str(exc) else ""
        print(f"codesign {args.command}: interrupted{detail}", file=sys.stderr)
        return 130


def _quiet_optuna() -> None:
    """Optuna's INFO lines (a study created, each trial finished) off for this process: the
    command prints its own summary. Done here, at the process's edge: library calls
    (:mod:`codesign`'s Python API) leave Optuna's logging as their caller set it."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
