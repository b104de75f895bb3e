"""GLUE classification / regression through ``datasets``: by name (``nyu-mll/glue``) or local files.

Local files use the column names of the Hugging Face GLUE datasets (``sentence``; ``sentence1`` /
``sentence2``; ``question1`` / ``question2``; ``premise`` / ``hypothesis``; ``question`` /
``sentence``; and ``label``) in csv, tsv, json, jsonl or parquet. A folder holds ``train.*`` and
``validation.*`` (or ``dev.*``); a single file is split: the first n_train rows train, the next
n_eval evaluate. The model is ``AutoModelForSequenceClassification``; its head (``classifier``)
stays digital and trains with the adapter. Metric: the GLUE primary metric of the task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from codesign.accuracy.metrics import GLUE_PRIMARY, glue_metrics
from codesign.accuracy.workloads import Task
from codesign.errors import InputError

TEXT_COLUMNS = {"cola": ("sentence", None), "sst2": ("sentence", None),
                "mrpc": ("sentence1", "sentence2"), "stsb": ("sentence1", "sentence2"),
                "rte": ("sentence1", "sentence2"), "wnli": ("sentence1", "sentence2"),
                "qqp": ("question1", "question2"), "mnli": ("premise", "hypothesis"),
                "qnli": ("question", "sentence")}
NUM_LABELS = {"stsb": 1, "mnli": 3}
EVAL_SPLIT = {"mnli": "validation_matched"}
_FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


def _load_files(files: dict[str, Path]):
    import datasets

    suffix = next(iter(files.values())).suffix
    builder = _FORMATS.get(suffix)
    if builder is None:
        raise InputError(f"workload.task: unsupported file type {suffix!r} "
                         f"(use {', '.join(_FORMATS)})")
    kwargs = {"delimiter": "\t"} if suffix == ".tsv" else {}
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()      # a local file of a few rows: no bars on stderr
    try:
        return datasets.load_dataset(builder, data_files={k: str(v) for k, v in files.items()},
                                     **kwargs)
    except Exception as exc:  # datasets' reader: a bad row, mixed column types, a damaged file
        while exc.__cause__ is not None:  # the innermost error says which column and why
            exc = exc.__cause__            # type: ignore[assignment]
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputError(f"workload.task: cannot read {', '.join(map(str, files.values()))} as "
                         f"{builder}: {first[:200]}") from None
    finally:
        if bars:
            datasets.enable_progress_bars()


def load_glue_rows(task: str, source: Path | None, n_train: int, n_eval: int):
    """(train rows, eval rows) as lists of dicts."""
    if source is None:
        import datasets

        try:
            ds = datasets.load_dataset("nyu-mll/glue", task)
        except Exception as exc:  # offline, unknown config, ...
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise InputError(f"workload.task: cannot load GLUE {task!r} with datasets (offline? "
                             f"use local files): {first[:160]}") from None
        train, evals = ds["train"], ds[EVAL_SPLIT.get(task, "validation")]
    elif source.is_dir():
        def find(stem_names):
            for stem in stem_names:
                for suffix in _FORMATS:
                    f = source / f"{stem}{suffix}"
                    if f.is_file():
                        return f
            return None
        tr, ev = find(["train"]), find(["validation", "dev", "validation_matched"])
        if tr is None or ev is None:
            raise InputError(f"workload.task: folder {str(source)!r} needs train.* and "
                             f"validation.* (or dev.*) files")
        ds = _load_files({"train": tr, "validation": ev})
        train, evals = ds["train"], ds["validation"]
    else:
        ds = _load_files({"train": source})["train"]
        train = ds.select(range(min(n_train, len(ds))))
        evals = ds.select(range(min(n_train, len(ds)), min(n_train + n_eval, len(ds))))
        if len(evals) == 0:
            raise InputError(f"workload.task: {str(source)!r} has no rows left for evaluation "
                             f"after n_train={n_train}")
    a, b = TEXT_COLUMNS[task]
    for split in (train, evals):
        missing = [c for c in (a, b, "label") if c and c not in split.column_names]
        if missing:
            raise InputError(f"workload.task: GLUE {task} data lacks column(s) {missing} "
                             f"(has {split.column_names})")
    train_rows = [train[i] for i in range(min(n_train, len(train)))]
    eval_rows = [evals[i] for i in range(min(n_eval, len(evals)))]
    for split, rows in (("training", train_rows), ("evaluation", eval_rows)):
        if not rows:
            raise InputError(f"workload.task: the GLUE {task} {split} data holds no row")
        for i, row in enumerate(rows):
            check_row(task, row, f"workload.task: {split} row {i}")
    return train_rows, eval_rows


def check_row(task: str, row: dict, where: str) -> None:
    """One GLUE row: its text columns are texts (a null is no text 'None') and its label is a
    class index 0 .. labels-1 (stsb: a finite number, the similarity score)."""
    import math

    for column in TEXT_COLUMNS[task]:
        if column and not isinstance(row.get(column), str):
            raise InputError(f"{where}: {column!r} must be a text, got {row.get(column)!r:.60}")
    label = row.get("label")
    if task == "stsb":
        if isinstance(label, bool) or not isinstance(label, (int, float)) \
                or not math.isfinite(label):
            raise InputError(f"{where}: 'label' must be a number (stsb similarity), got "
                             f"{label!r:.60}")
        return
    n = NUM_LABELS.get(task, 2)
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < n:
        raise InputError(f"{where}: 'label' must be a class index 0 .. {n - 1} for {task}, got "
                         f"{label!r:.60}")


class GlueTask(Task):
    kind = "classification"

    def __init__(self, spec, task: str, source: Path | None):
        super().__init__(spec)
        self.task = task
        self.metric = f"{task}_{GLUE_PRIMARY[task]}"
        self.train_rows, self.eval_rows = load_glue_rows(task, source, spec.n_train, spec.n_eval)
        self.tokenizer = None
        self.last_metrics: dict[str, float] = {}

    def load_model(self):
        from codesign.accuracy.models import load_model, load_tokenizer

        self.tokenizer = load_tokenizer(self.spec.model)
        n = NUM_LABELS.get(self.task, 2)
        kwargs = {"num_labels": n}
        if n == 1:
            kwargs["problem_type"] = "regression"
        return load_model(self.spec.model, "classification", **kwargs)

    def head_modules(self) -> list[str]:
        return ["classifier", "score"]

    def _encode(self, rows):
        import torch

        a, b = TEXT_COLUMNS[self.task]
        first = [r[a] for r in rows]
        second = [r[b] for r in rows] if b else None
        enc = self.tokenizer(first, second, padding=True, truncation=True,
                             max_length=self.spec.max_seq_len, return_tensors="pt")
        dtype = torch.float32 if self.task == "stsb" else torch.long
        enc["labels"] = torch.tensor([r["label"] for r in rows], dtype=dtype)
        return dict(enc)

    def train_batches(self, batch_size: int, seed: int) -> Iterator[dict[str, Any]]:
        a, b = TEXT_COLUMNS[self.task]
        rows = self.train_rows
        ids = self.tokenizer([r[a] for r in rows], [r[b] for r in rows] if b else None,
                             truncation=True, max_length=self.spec.max_seq_len)["input_ids"]
        lengths = [len(x) for x in ids]                   # tokens: what padding depends on
        for idx in self.index_batches(len(self.train_rows), batch_size, seed, lengths):
            yield self._encode([self.train_rows[i] for i in idx])

    def loss(self, model, batch):
        device = next(model.parameters()).device
        out = model(**{k: v.to(device) for k, v in batch.items()})
        return out.loss

    def evaluate(self, model, device) -> float:
        import torch

        preds, labels = [], []
        with torch.no_grad():
            for k in range(0, len(self.eval_rows), self.spec.eval_batch_size):
                batch = self._encode(self.eval_rows[k:k + self.spec.eval_batch_size])
                y = batch.pop("labels")
                logits = model(**{key: v.to(device) for key, v in batch.items()}).logits.float()
                preds += (logits[:, 0] if self.task == "stsb" else logits.argmax(-1)).cpu().tolist()
                labels += y.tolist()
        self.last_metrics = glue_metrics(self.task, preds, labels)
        return float(self.last_metrics[GLUE_PRIMARY[self.task]])
