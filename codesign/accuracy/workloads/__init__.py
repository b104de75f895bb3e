"""Workloads: a model plus a task that yields training batches, a loss and a metric.

:func:`load_task` turns a :class:`~codesign.accuracy.settings.WorkloadSpec` into a :class:`Task`:

- ``fidelity`` (the offline default, :mod:`.fidelity`): all-MiniLM-L6-v2 sentence embeddings of
  real English sentences from the Python standard library's documentation (``pydoc_data``);
  metric = mean cosine similarity to the digital model's embeddings (1.0 = the digital model).
- ``retrieval`` (the workload ``minilm-retrieval``, :mod:`.retrieval`) and
  ``retrieval-contrastive``: the inverse-cloze task over the same documentation, MRR@10 (Recall@1
  and nDCG@10 beside it) of held-out sentences retrieving their passage.
- ``causal-lm`` (:mod:`.causal_lm`): a decoder (e.g. LLaMA) through AutoModelForCausalLM:
  perplexity or zero-shot multiple choice; Alpaca instruction tuning of the adapters.
- GLUE tasks (:mod:`.glue`) and SQuAD v1.1 (:mod:`.squad`) through ``datasets``, by name or from
  local files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

from codesign.accuracy.settings import GLUE_TASKS, WorkloadSpec
from codesign.errors import InputError

#: batches per window sorted by length in length-grouped batching (Task.index_batches)
GROUP_WINDOW = 8


class Task:
    """What the engine needs from a workload. Subclasses fill these in."""

    metric: str = ""
    #: model loader kind: encoder, classification or qa
    kind: str = "encoder"
    #: the loss and the metric read real tokens only (padding's outputs are never used), so the
    #: analog layers may skip padded rows (:mod:`codesign.accuracy.rows`)
    pad_free: bool = True

    def __init__(self, spec: WorkloadSpec):
        self.spec = spec

    def load_model(self):
        """The digital model (eval mode, weights as loaded)."""
        raise NotImplementedError

    def prepare(self, model) -> None:
        """Called once with the digital model before any conversion (e.g. teacher outputs)."""

    def train_batches(self, batch_size: int, seed: int) -> Iterator[dict[str, Any]]:
        """An endless, seeded stream of training mini-batches."""
        raise NotImplementedError

    @staticmethod
    def index_batches(n: int, batch_size: int, seed: int,
                      lengths: Sequence[int] | None = None) -> Iterator[list[int]]:
        """Endless epochs over ``range(n)``, each freshly shuffled (seeded), cut into batches of
        ``batch_size`` indices (the last partial batch of an epoch is dropped; one short batch
        when ``n < batch_size``).

        With ``lengths`` (e.g. characters per example) batches are length-grouped, as
        transformers' ``group_by_length`` does: each window of ``GROUP_WINDOW`` batches of the
        shuffled order is sorted by length before it is cut, and the epoch's batches are then
        shuffled again, so that a batch pads little while batch order and composition stay random.
        """
        import random

        if n <= 0:   # an endless loop over nothing: every task checks its data before this
            raise InputError("workload: the task holds no training example (see workload.task, "
                             "train_data and n_train)")
        rng = random.Random(seed)
        size = max(1, min(batch_size, n))
        window = size * GROUP_WINDOW
        while True:
            order = list(range(n))
            rng.shuffle(order)
            if lengths is not None:
                order = [i for k in range(0, n, window)
                         for i in sorted(order[k:k + window], key=lambda j: lengths[j])]
            batches = [order[k:k + size] for k in range(0, n - size + 1, size)]
            if lengths is not None:
                rng.shuffle(batches)
            yield from batches

    def loss(self, model, batch: dict[str, Any]):
        raise NotImplementedError

    def evaluate(self, model, device) -> float:
        """The primary metric on the evaluation set (no gradients)."""
        raise NotImplementedError

    def head_modules(self) -> list[str]:
        """Task-head module names that train with the adapters (peft modules_to_save)."""
        return []


def glue_name(task: str) -> str | None:
    t = task.lower()
    if t.startswith("glue/") or t.startswith("glue:"):
        t = t[5:]
    return t if t in GLUE_TASKS else None


def load_task(spec: WorkloadSpec) -> Task:
    """The Task for a workload spec; InputError for an unknown task or a missing file."""
    task = spec.task
    if spec.name == "minilm-retrieval" and not task.startswith("retrieval"):
        raise InputError(f"workload.task: the workload minilm-retrieval is the task 'retrieval' "
                         f"(or 'retrieval-contrastive'), not {task!r}; set task: retrieval")
    if task in ("retrieval", "retrieval-contrastive"):
        from codesign.accuracy.workloads.retrieval import RetrievalTask

        return RetrievalTask(spec)
    if task == "fidelity":
        from codesign.accuracy.workloads.fidelity import FidelityTask

        return FidelityTask(spec)
    if task in ("causal-lm", "causal_lm"):
        from codesign.accuracy.workloads.causal_lm import CausalLMTask

        return CausalLMTask(spec)
    if glue_name(task):
        from codesign.accuracy.workloads.glue import GlueTask

        return GlueTask(spec, glue_name(task), source=None)
    if task.lower() in ("squad", "squad_v1", "squad1.1", "rajpurkar/squad"):
        from codesign.accuracy.workloads.squad import SquadTask

        return SquadTask(spec, source=None)
    path = Path(task).expanduser()
    if path.exists():
        fmt = spec.task_format
        if fmt == "auto":
            fmt = "squad" if _looks_like_squad(path) else "glue"
        if fmt == "squad":
            from codesign.accuracy.workloads.squad import SquadTask

            return SquadTask(spec, source=path)
        from codesign.accuracy.workloads.glue import GlueTask

        return GlueTask(spec, spec.glue_task or "sst2", source=path)
    raise InputError(f"workload.task: unknown task {task!r}: use 'fidelity', 'retrieval', "
                     "'retrieval-contrastive', 'causal-lm', a GLUE task"
                     f" ({', '.join(GLUE_TASKS)}), 'squad', or an existing local file or "
                     "folder")


def _looks_like_squad(path: Path) -> bool:
    import json

    files = [path] if path.is_file() else sorted(path.glob("*.json"))
    for f in files[:1]:
        if f.suffix == ".json":
            try:
                with open(f, encoding="utf-8") as fh:
                    head = json.load(fh)
            except (ValueError, OSError):
                return False
            return isinstance(head, dict) and isinstance(head.get("data"), list)
    return False
