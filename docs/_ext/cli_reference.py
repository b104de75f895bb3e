"""Sphinx extension: the command-line reference, generated from codesign's argparse parsers.

``codesign-cli`` (a directive, no arguments) renders one section per subcommand of
``codesign.cli.build_parser()``: its usage line, description, every argument group with each
option's flags and help (defaults expanded as ``--help`` prints them) and its examples. The page
therefore always says what the installed command accepts; nothing is copied by hand.

:func:`describe` is the pure part (parser -> plain data), tested in ``tests/test_docs.py``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from docutils import nodes
from docutils.parsers.rst import Directive

#: width of the usage and example blocks (argparse reads $COLUMNS)
WIDTH = 100


@dataclass
class Option:
    """One argument: its flags (or metavar for a positional) and its help text."""

    names: str
    help: str


@dataclass
class Command:
    """One subcommand as its ``--help`` describes it."""

    name: str
    summary: str
    usage: str
    description: str
    groups: list[tuple[str, list[Option]]] = field(default_factory=list)
    epilog: str = ""


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {a.dest: a.help or "" for a in action._choices_actions}
    return {}


def _option(parser: argparse.ArgumentParser, action: argparse.Action) -> Option:
    formatter = parser._get_formatter()
    if action.option_strings:
        names = ", ".join(action.option_strings)
        if action.nargs != 0:
            names += " " + formatter._format_args(action, action.dest.upper())
    else:
        names = formatter._format_args(action, action.dest)
    text = formatter._expand_help(action) if action.help else ""
    return Option(names=names, help=" ".join(text.split()))


def describe(parser: argparse.ArgumentParser) -> list[Command]:
    """Every subcommand of ``parser``, in the order ``--help`` lists them."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        summaries = _summaries(parser)
        commands = []
        for name, sub in _subcommands(parser).items():
            groups = []
            for group in sub._action_groups:
                options = [_option(sub, a) for a in group._group_actions
                           if a.help is not argparse.SUPPRESS]
                if options:
                    groups.append((group.title or "", options))
            commands.append(Command(name=name, summary=summaries.get(name, ""),
                                    usage=sub.format_usage().strip(),
                                    description=" ".join((sub.description or "").split()),
                                    groups=groups, epilog=(sub.epilog or "").rstrip()))
        return commands
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _section(document, command: Command) -> nodes.section:
    section = nodes.section(ids=[nodes.make_id(f"codesign-{command.name}")],
                            names=[nodes.fully_normalize_name(f"codesign {command.name}")])
    document.note_implicit_target(section)
    section += nodes.title(text=f"codesign {command.name}")
    if command.summary:
        section += nodes.paragraph(text=command.summary[:1].upper() + command.summary[1:] + ".")
    section += nodes.literal_block(text=command.usage)
    if command.description:
        section += nodes.paragraph(text=command.description)
    for title, options in command.groups:
        section += nodes.rubric(text=title)
        items = nodes.definition_list()
        for option in options:
            term = nodes.term()
            term += nodes.literal(text=option.names)
            definition = nodes.definition()
            definition += nodes.paragraph(text=option.help)
            items += nodes.definition_list_item("", term, definition)
        section += items
    if command.epilog:
        section += nodes.literal_block(text=command.epilog)
    return section


class CliReference(Directive):
    """``codesign-cli``: one section per subcommand, from the live parsers."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from codesign.cli import build_parser

        document = self.state.document
        return [_section(document, c) for c in describe(build_parser())]


def setup(app):
    app.add_directive("codesign-cli", CliReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
