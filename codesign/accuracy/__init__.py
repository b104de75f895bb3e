"""The accuracy model: a transformer with its pretrained weights on noisy, drifting PCM tiles
(aihwkit, pure-PyTorch tiles), digital LoRA adapters (peft) trained under hardware noise
(AHWA-LoRA), evaluated after drift.

Importing this package is cheap: torch, aihwkit, transformers and peft are imported only when a
function that needs them runs. Public API::

    from codesign.accuracy import evaluate_accuracy, AccuracySettings, WorkloadSpec, AccuracyResult
    result = evaluate_accuracy(WorkloadSpec(), AimcTileSpec(), LoraSpec(rank=8), AccuracySettings(),
                               cache_dir=Path(".cache/accuracy"))
    result.to_dict()   # digital / analog_before / analog_after per drift label, params, metric
    result.measures    # a task's measures beside its metric (retrieval, SQuAD), same draws

The lower-level pieces (model loading, conversion, training, drift evaluation, adapter swapping)
live in :mod:`codesign.accuracy.engine` and the modules it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.accuracy.settings import (DEFAULT_WORKLOAD, DRIFT_LABELS, AccuracyResult,
                                        AccuracySettings, EvaluationSettings, NoiseSettings,
                                        TrainingSettings, WorkloadSpec, drift_seconds,
                                        with_overrides)

if TYPE_CHECKING:  # pragma: no cover
    from hw_models.specs import AimcTileSpec, LoraSpec

__all__ = ["evaluate_accuracy", "adapt", "MultiTaskModel", "AccuracyResult", "AccuracySettings",
           "WorkloadSpec",
           "NoiseSettings", "TrainingSettings", "EvaluationSettings", "DRIFT_LABELS",
           "DEFAULT_WORKLOAD", "drift_seconds", "with_overrides"]


def evaluate_accuracy(workload: WorkloadSpec, aimc: "AimcTileSpec", lora: "LoraSpec",
                      settings: AccuracySettings, cache_dir: Path, progress: bool = True,
                      **kwargs: Any) -> AccuracyResult:
    """Digital, analog-before and analog-after-training metric at every drift time.

    Trains the adapters (or loads them from ``cache_dir`` when an identical request was trained
    before: ``result.cache_hit``). Bad input (unknown model or task, a placement that selects no
    module, rank 0 with mode 'lora') raises :class:`codesign.errors.InputError`; a training that
    diverges returns ``status='failed'`` with a ``reason`` and caches nothing.
    """
    from codesign.accuracy.engine import evaluate

    return evaluate(workload, aimc, lora, settings, Path(cache_dir), progress=progress, **kwargs)


def __getattr__(name: str):
    """``adapt`` (dynamic adaptation) and ``MultiTaskModel`` (adapter swapping), imported lazily."""
    if name in ("adapt", "MultiTaskModel"):
        from codesign.accuracy import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'codesign.accuracy' has no attribute {name!r}")
