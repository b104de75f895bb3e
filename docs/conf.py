"""Sphinx configuration of codesign's documentation site (``make docs``).

MyST Markdown pages, a tutorial notebook executed at build time (myst-nb), an API reference from
the docstrings (autodoc) and a CLI reference generated from the argparse parsers
(``_ext/cli_reference.py``). ``make docs`` builds with ``-W --keep-going``: any warning fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))                  # the checkout's codesign, not an installed copy
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

import codesign  # noqa: E402

project = "codesign"
author = "the codesign authors"
copyright = "2026, the codesign authors"
release = codesign.__version__

extensions = [
    "myst_nb",                     # MyST Markdown and notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "cli_reference",               # docs/_ext: the CLI reference from codesign.cli's parsers
    "spec_fields",                 # docs/_ext: each dataclass field's meaning, unit and bounds
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3           # `page.md#a-heading` links, as on GitHub

# The tutorial runs on every build (it takes seconds), so its outputs are always this code's.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_in_temp = True       # the notebook runs in a temporary folder: it writes nothing here

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True           # Attributes: as fields, not duplicate attribute entries

smartquotes = False               # `--model` stays two hyphens in text

html_theme = "furo"
html_title = f"codesign {release}"
html_static_path: list[str] = []
