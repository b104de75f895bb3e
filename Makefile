# Set-up contract (../shared/design.md section 6): `make setup` builds .venv/ idempotently;
# `make quickstart` runs the main job; `make test` runs the test suite. Both depend on setup.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of torch 2.13.0. On a CUDA machine install your GPU build of torch into .venv first
# (see README, "GPU machines"): setup keeps any torch that is already there.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.setup-stamp

.PHONY: setup quickstart lint test test-system test-all bench clean-results

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	# aihwkit 1.1.0's metadata asks for torchvision (whose CUDA build breaks transformers under a
	# CPU torch) and build tools; install it alone and its real runtime needs via the accuracy extra.
	$(BIN)/python -m pip install -q --no-deps aihwkit==1.1.0
	$(BIN)/python -m pip install -q -e '.[accuracy,postgres,dev]'
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

test: setup test-system lint
	$(BIN)/python -m pytest -m "not slow" -q

test-all: setup test-system lint
	$(BIN)/python -m pytest -q

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean-results:
	rm -rf results/
