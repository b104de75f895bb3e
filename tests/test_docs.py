"""The documentation: the Sphinx site in docs/ builds with warnings as errors, its tutorial
notebook runs and its outputs are in the built page, the CLI reference lists every subcommand and
flag, the README stays short, and nothing refers to notes outside the repository.

The full build (``make docs`` runs the same command) takes about 20 s and executes the notebook,
so it is marked slow; ``make test`` runs ``make docs`` itself.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from codesign.cli import SUBCOMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: the notes beside the developers' checkout that a user's clone does not have (spelt in two
#: parts so that this file does not match itself)
OUTSIDE_NOTES = "../" + "shared"
#: folders that are not the project's own text: environments, caches, build outputs, results
SKIPPED_DIRS = {".git", ".venv", ".venv-hwc", "_build", "results", "__pycache__", ".cache",
                ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "build"}


def _cli_reference():
    spec = importlib.util.spec_from_file_location("cli_reference", DOCS / "_ext" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)          # dataclasses look their module up there
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def _project_files():
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        for name in files:
            yield Path(folder) / name


def test_the_readme_is_short_and_links_into_the_docs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "make quickstart" in text and "make test" in text
    for page in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / page).is_file(), f"README links to {page}, which does not exist"


def test_the_readme_states_no_test_count():
    """A count of tests goes stale with the next test; the README states none (if it ever does,
    this test must compare it with pytest's collection instead)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"\b\d[\d,]*\+?\s+(?:\w+\s+)?tests\b", text, re.IGNORECASE)


def test_nothing_refers_to_notes_outside_the_repository():
    hits = []
    for path in _project_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue                                   # binary files
        hits += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                 if OUTSIDE_NOTES in line]
    assert hits == []


def test_the_cli_reference_lists_every_subcommand_and_flag():
    commands = _cli_reference().describe(build_parser())
    assert [c.name for c in commands] == list(SUBCOMMANDS)
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in commands:
        assert command.usage.startswith(f"usage: codesign {command.name}")
        assert command.summary and command.description
        listed = " ".join(option.names for _, options in command.groups for option in options)
        shown = [a for a in subparsers.choices[command.name]._actions
                 if a.help is not argparse.SUPPRESS]            # as --help shows them
        for action in shown:
            for flag in action.option_strings:
                assert re.search(rf"(^|[ ,]){re.escape(flag)}([ ,]|$)", listed), \
                    f"codesign {command.name} {flag} missing from the CLI reference"
    assert "{codesign-cli}" in (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")


def test_the_user_guide_takes_every_page_of_its_folder():
    """Pages added to docs/guide/ join the guide's table of contents without editing it."""
    text = (DOCS / "guide.md").read_text(encoding="utf-8")
    assert ":glob:" in text and re.search(r"^guide/\*$", text, re.MULTILINE)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    tutorials = set((DOCS / "tutorials").iterdir())
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert set((DOCS / "tutorials").iterdir()) == tutorials, "the notebook wrote beside itself"
    return out / "html"


@pytest.mark.slow
def test_the_tutorial_notebook_is_executed_into_the_built_page(built_site):
    page = html.unescape((built_site / "tutorials" / "latency_study.html").read_text(encoding="utf-8"))
    assert "InputError: workload.seq_len: must be >= 1, got -1" in page   # a printed output
    assert "54 trials" in page                                            # the run's output
    assert re.search(r"<img[^>]+\.png", page)                            # the Pareto plot
    assert "Traceback" not in page and "Warning" not in page


@pytest.mark.slow
def test_the_built_site_has_every_page_and_subcommand(built_site):
    for page in ("index", "getting_started", "guide", "guide/studies", "guide/hardware_model",
                 "guide/accuracy_model", "guide/many_machines", "guide/results", "guide/limits",
                 "reference/cli", "reference/api", "reference/contract", "reference/paper",
                 "changelog"):
        assert (built_site / f"{page}.html").is_file(), page
    cli = (built_site / "reference" / "cli.html").read_text(encoding="utf-8")
    for name in SUBCOMMANDS:
        assert f'id="codesign-{name}"' in cli, name
    api = (built_site / "reference" / "api.html").read_text(encoding="utf-8")
    for name in ("run_study", "trials_table", "plot_pareto", "evaluate_network", "HardwareSpec"):
        assert name in api, name
    # each spec field with its meaning, unit and bounds, read from the code (docs/_ext/spec_fields.py)
    import dataclasses

    import hw_models
    rows = next(f for f in dataclasses.fields(hw_models.AimcTileSpec) if f.name == "rows")
    assert html.escape(rows.metadata["help"], quote=False) in api and "unit: cells" in api
