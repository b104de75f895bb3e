# Set-up contract (docs/reference/contract.md, "Set-up"): `make setup` builds .venv/ idempotently;
# `make quickstart` runs the main job; `make test` runs the test suite. Both depend on setup.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of torch 2.13.0. On a CUDA machine install your GPU build of torch into .venv first
# (see docs/getting_started.md, "GPU machines"): setup keeps any torch that is already there.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.setup-stamp

.PHONY: setup quickstart lint docs test test-system test-all bench clean-results components

# Component models (docs/guide/hardware_model.md, "Component models"): the field's hwcomponents
# packages need Python 3.12,
# so they live in their own venv, .venv-hwc/ (pinned: tools/components-requirements.txt), and
# `make components` rewrites hw_models/data/components.json from them (rebuilding the wheel's CACTI
# binary from its sources when it does not run here). Not needed by setup/test: the data file is
# committed. PYTHON312: a working python3.12 on PATH, else pyenv's 3.12.
PYTHON312 ?= $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12; do \
    $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null \
    && { command -v $$p; break; }; done)
HWC_VENV  := .venv-hwc
HWC_STAMP := $(HWC_VENV)/.setup-stamp

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	# aihwkit 1.1.0's metadata asks for torchvision (whose CUDA build breaks transformers under a
	# CPU torch) and build tools; install it alone and its real runtime needs via the accuracy extra.
	$(BIN)/python -m pip install -q --no-deps aihwkit==1.1.0
	$(BIN)/python -m pip install -q -e '.[accuracy,postgres,dev,docs]'
	@touch $(STAMP)

quickstart: setup
	$(BIN)/codesign run studies/quickstart.yaml

# Test-only system packages (Debian's chromium renders the HTML report); idempotent, and a note
# instead of an install where there is no root: the browser test then skips.
test-system:
	@bash .ci/browser.sh

# ruff (pyproject.toml [tool.ruff]) and mypy against its shrinking baseline (.ci/typecheck.py)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/python .ci/typecheck.py

# The documentation site (docs/): every warning is an error; the tutorial notebook is executed.
docs: setup
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

test: setup test-system lint docs
	$(BIN)/python -m pytest -m "not slow" -q

test-all: setup test-system lint docs
	$(BIN)/python -m pytest -q

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean-results:
	rm -rf results/

$(HWC_STAMP): tools/components-requirements.txt
	@test -n "$(PYTHON312)" || { echo "components: needs Python 3.12 (python3.12 on PATH, or PYTHON312=/path/to/python3.12)"; exit 2; }
	@test -x $(HWC_VENV)/bin/python || $(PYTHON312) -m venv $(HWC_VENV)
	$(HWC_VENV)/bin/python -m pip install -q --upgrade pip
	$(HWC_VENV)/bin/python -m pip install -q -r tools/components-requirements.txt
	@touch $(HWC_STAMP)

components: $(HWC_STAMP)
	$(HWC_VENV)/bin/python tools/derive_components.py
