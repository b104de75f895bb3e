"""Shared fixtures: a tiny randomly initialised BERT built from the real MiniLM config and
tokenizer (fast on a CPU), local task fixtures in the real GLUE / SQuAD formats, small settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(Path(__file__).parent))

pytest.importorskip("torch")
pytest.importorskip("aihwkit")
pytest.importorskip("peft")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A 2-layer, 32-wide BERT from all-MiniLM-L6-v2's config.json, random weights, real tokenizer."""
    from tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def small_settings():
    from codesign.accuracy import AccuracySettings, with_overrides

    return with_overrides(AccuracySettings(device="cpu"), **{
        "training.steps": 3, "training.batch_size": 4,
        "evaluation.drift_times": ("0s", "1d"), "evaluation.n_draws": 2})


@pytest.fixture
def tiny_workload(tiny_model):
    from codesign.accuracy import WorkloadSpec

    return WorkloadSpec(name="tiny-fidelity", model=tiny_model, task="fidelity", max_seq_len=24,
                        n_train=16, n_eval=8, eval_batch_size=8)
