"""Task metrics, pure Python/numpy: GLUE (as GLUE defines them), SQuAD v1.1 EM/F1, embedding fidelity.

GLUE (Wang et al. 2019, and the ``evaluate`` glue metric): CoLA Matthews correlation; STS-B Pearson
and Spearman correlation; MRPC and QQP accuracy and F1 of the positive class; all other tasks
accuracy. The *primary* metric (the one reported per drift time) is Matthews for CoLA, Spearman for
STS-B, F1 for MRPC / QQP and accuracy otherwise. SQuAD v1.1: the official evaluation script's
answer normalisation, exact match and token F1 against the best of the gold answers, in percent.
"""

from __future__ import annotations

import collections
import re
import string
from typing import Sequence

import numpy as np

#: GLUE task -> primary metric name
GLUE_PRIMARY = {"cola": "matthews_correlation", "stsb": "spearmanr", "mrpc": "f1", "qqp": "f1",
                "sst2": "accuracy", "mnli": "accuracy", "qnli": "accuracy", "rte": "accuracy",
                "wnli": "accuracy"}


def accuracy(preds: Sequence[int], labels: Sequence[int]) -> float:
    p, y = np.asarray(preds), np.asarray(labels)
    return float((p == y).mean()) if len(y) else float("nan")


def f1_binary(preds: Sequence[int], labels: Sequence[int]) -> float:
    p, y = np.asarray(preds), np.asarray(labels)
    tp = float(((p == 1) & (y == 1)).sum())
    fp = float(((p == 1) & (y == 0)).sum())
    fn = float(((p == 0) & (y == 1)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def matthews(preds: Sequence[int], labels: Sequence[int]) -> float:
    """Matthews correlation coefficient (binary; 0 when a marginal is empty, as sklearn)."""
    p, y = np.asarray(preds), np.asarray(labels)
    tp, tn = float(((p == 1) & (y == 1)).sum()), float(((p == 0) & (y == 0)).sum())
    fp, fn = float(((p == 1) & (y == 0)).sum()), float(((p == 0) & (y == 1)).sum())
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return 0.0 if den == 0 else float((tp * tn - fp * fn) / den)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    a, b = np.asarray(x, float), np.asarray(y, float)
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return 0.0 if den == 0 else float((a * b).sum() / den)


def _rank(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank), as scipy.stats.rankdata."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), float)
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    return pearson(_rank(np.asarray(x, float)), _rank(np.asarray(y, float)))


def glue_metrics(task: str, preds: Sequence, labels: Sequence) -> dict[str, float]:
    """All metrics GLUE reports for ``task`` (preds are class ids, or scores for stsb)."""
    if task == "stsb":
        return {"pearson": pearson(preds, labels), "spearmanr": spearman(preds, labels)}
    out = {"accuracy": accuracy(preds, labels)}
    if task in ("mrpc", "qqp"):
        out["f1"] = f1_binary(preds, labels)
    if task == "cola":
        out["matthews_correlation"] = matthews(preds, labels)
    return out


# --- SQuAD v1.1 (official evaluate-v1.1.py semantics) -------------------------------------------

def normalize_answer(s: str) -> str:
    """Lower case, drop punctuation, articles (a, an, the) and extra whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def squad_f1(prediction: str, truth: str) -> float:
    p, t = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = collections.Counter(p) & collections.Counter(t)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(t)
    return 2 * precision * recall / (precision + recall)


def squad_em(prediction: str, truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(truth))


def squad_metrics(predictions: Sequence[str], answers: Sequence[Sequence[str]]) -> dict[str, float]:
    """{"exact_match", "f1"} in percent, each the max over the gold answers, averaged."""
    if not predictions:
        return {"exact_match": float("nan"), "f1": float("nan")}
    em = [max(squad_em(p, a) for a in golds) for p, golds in zip(predictions, answers)]
    f1 = [max(squad_f1(p, a) for a in golds) for p, golds in zip(predictions, answers)]
    return {"exact_match": 100.0 * float(np.mean(em)), "f1": 100.0 * float(np.mean(f1))}


def summarize(values: Sequence[float]) -> dict[str, float]:
    """{"mean", "std"} of the draws (population std; 0 for one draw)."""
    a = np.asarray(values, float)
    return {"mean": float(a.mean()), "std": float(a.std()) if len(a) > 1 else 0.0}
