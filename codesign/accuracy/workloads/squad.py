"""SQuAD v1.1 extractive QA through ``datasets`` (``rajpurkar/squad``) or a local file in the
official SQuAD v1.1 json format (``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text", "answer_start"}]}]}]}]}``); a folder holds train-*.json and
dev-*.json. Contexts are truncated to max_seq_len (no doc stride: a short-context simplification;
answers cut off count as unanswerable in training and as misses in evaluation). Metric: F1 (%) as
the official script computes it; exact match is kept in ``last_metrics``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from codesign.accuracy.metrics import squad_metrics
from codesign.accuracy.workloads import Task
from codesign.errors import InputError

MAX_ANSWER_TOKENS = 30


def read_squad_json(path: Path) -> list[dict]:
    """Flatten an official-format SQuAD file to rows
    {id, question, context, answers{text, answer_start}}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"workload.task: {str(path)!r} is not a SQuAD v1.1 json file ({exc})") from None
    rows = []
    try:
        for article in data:
            for para in article["paragraphs"]:
                for qa in para["qas"]:
                    rows.append({"id": qa["id"], "question": qa["question"],
                                 "context": para["context"],
                                 "answers": {"text": [a["text"] for a in qa["answers"]],
                                             "answer_start": [a["answer_start"]
                                                              for a in qa["answers"]]}})
    except (KeyError, TypeError, IndexError) as exc:
        raise InputError(f"workload.task: {str(path)!r} is not in the SQuAD v1.1 layout (data > "
                         f"paragraphs > context, qas > id, question, answers > text, "
                         f"answer_start): {type(exc).__name__} {exc}"[:300]) from None
    for i, row in enumerate(rows):
        check_row(row, f"workload.task: question {i} of {str(path)!r}")
    return rows


def check_row(row: dict, where: str) -> None:
    """Texts are texts (a null is no text 'None'); each answer is a text at an offset inside the
    context."""
    for key in ("question", "context"):
        if not isinstance(row[key], str):
            raise InputError(f"{where}: {key!r} must be a text, got {row[key]!r:.60}")
    context = row["context"]
    for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"]):
        if not isinstance(text, str) or isinstance(start, bool) or not isinstance(start, int) \
                or not 0 <= start <= len(context) - len(text):
            raise InputError(f"{where}: an answer must be a text with an answer_start offset "
                             f"inside its context (0 .. {len(context)}), got {text!r:.40} at "
                             f"{start!r}")


def load_squad_rows(source: Path | None, n_train: int, n_eval: int):
    if source is None:
        import datasets

        try:
            ds = datasets.load_dataset("rajpurkar/squad")
        except Exception as exc:
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise InputError(f"workload.task: cannot load SQuAD with datasets (offline? use a "
                             f"local SQuAD json): {first[:160]}") from None
        train = [ds["train"][i] for i in range(min(n_train, len(ds["train"])))]
        evals = [ds["validation"][i] for i in range(min(n_eval, len(ds["validation"])))]
        return train, evals
    if source.is_dir():
        tr = sorted(source.glob("train*.json"))
        ev = sorted(source.glob("dev*.json")) or sorted(source.glob("validation*.json"))
        if not tr or not ev:
            raise InputError(f"workload.task: folder {str(source)!r} needs train*.json and "
                             f"dev*.json in SQuAD v1.1 format")
        return read_squad_json(tr[0])[:n_train], read_squad_json(ev[0])[:n_eval]
    rows = read_squad_json(source)
    train, evals = rows[:n_train], rows[n_train:n_train + n_eval]
    if not evals:
        raise InputError(f"workload.task: {str(source)!r} has no questions left for evaluation "
                         f"after n_train={n_train}")
    return train, evals


class SquadTask(Task):
    kind = "qa"
    metric = "squad_f1"
    #: the span loss normalises start/end logits over every position, padding included
    pad_free = False

    def __init__(self, spec, source: Path | None):
        super().__init__(spec)
        self.train_rows, self.eval_rows = load_squad_rows(source, spec.n_train, spec.n_eval)
        if not self.train_rows or not self.eval_rows:
            raise InputError(f"workload.task: {spec.task!r} holds no "
                             f"{'training' if not self.train_rows else 'evaluation'} question")
        for i, row in enumerate(self.train_rows):
            if not row["answers"]["text"]:
                raise InputError(f"workload.task: training question {i} ({row['id']!r:.40}) has "
                                 f"no answer to learn")
        self.tokenizer = None
        self.last_metrics: dict[str, float] = {}

    def load_model(self):
        from codesign.accuracy.models import load_model, load_tokenizer

        self.tokenizer = load_tokenizer(self.spec.model)
        return load_model(self.spec.model, "qa")

    def head_modules(self) -> list[str]:
        return ["qa_outputs"]

    def _encode(self, rows, with_labels: bool):
        import torch

        enc = self.tokenizer([r["question"] for r in rows], [r["context"] for r in rows],
                             truncation="only_second", max_length=self.spec.max_seq_len,
                             padding=True, return_offsets_mapping=True, return_tensors="pt")
        offsets = enc.pop("offset_mapping")
        seq_ids = [enc.sequence_ids(i) for i in range(len(rows))]
        if with_labels:
            starts, ends = [], []
            for i, r in enumerate(rows):
                a0 = r["answers"]["answer_start"][0]
                a1 = a0 + len(r["answers"]["text"][0])
                s = e = 0
                for t, sid in enumerate(seq_ids[i]):
                    if sid != 1:
                        continue
                    o0, o1 = offsets[i, t].tolist()
                    if o0 <= a0 < o1 and s == 0:
                        s = t
                    if o0 < a1 <= o1:
                        e = t
                if e < s:
                    s = e = 0
                starts.append(s)
                ends.append(e)
            enc["start_positions"] = torch.tensor(starts)
            enc["end_positions"] = torch.tensor(ends)
        return dict(enc), offsets, seq_ids

    def train_batches(self, batch_size: int, seed: int) -> Iterator[dict[str, Any]]:
        for idx in self.index_batches(len(self.train_rows), batch_size, seed):
            yield self._encode([self.train_rows[i] for i in idx], True)[0]

    def loss(self, model, batch):
        device = next(model.parameters()).device
        return model(**{k: v.to(device) for k, v in batch.items()}).loss

    def evaluate(self, model, device) -> float:
        import torch

        preds, golds = [], []
        with torch.no_grad():
            for k in range(0, len(self.eval_rows), self.spec.eval_batch_size):
                rows = self.eval_rows[k:k + self.spec.eval_batch_size]
                enc, offsets, seq_ids = self._encode(rows, False)
                out = model(**{key: v.to(device) for key, v in enc.items()})
                start, end = out.start_logits.float().cpu(), out.end_logits.float().cpu()
                for i, r in enumerate(rows):
                    ctx = [t for t, sid in enumerate(seq_ids[i]) if sid == 1]
                    best, text = None, ""
                    if ctx:
                        lo, hi = ctx[0], ctx[-1]
                        s_log, e_log = start[i, lo:hi + 1], end[i, lo:hi + 1]
                        # best span with end >= start and length <= MAX_ANSWER_TOKENS
                        scores = s_log[:, None] + e_log[None, :]
                        n = scores.shape[0]
                        mask = torch.ones(n, n, dtype=torch.bool).triu()
                        mask &= ~torch.ones(n, n, dtype=torch.bool).triu(MAX_ANSWER_TOKENS)
                        scores = scores.masked_fill(~mask, float("-inf"))
                        flat = int(scores.argmax())
                        s, e = lo + flat // n, lo + flat % n
                        best = (int(offsets[i, s, 0]), int(offsets[i, e, 1]))
                        text = r["context"][best[0]:best[1]]
                    preds.append(text)
                    golds.append(r["answers"]["text"] or [""])
        self.last_metrics = squad_metrics(preds, golds)
        return float(self.last_metrics["f1"])
