"""Retrieval workload ``minilm-retrieval``: the inverse-cloze task over the CPython documentation.

all-MiniLM-L6-v2 is a semantic-search model, so its users measure it by retrieval. The corpus is
text every CPython ships: the language and library reference in ``pydoc_data.topics`` (what
``help()`` prints). Each topic's prose (code blocks, grammar rules and headings left out) is read
as a stream of sentences and cut into passages of :data:`PASSAGE_SENTENCES` consecutive sentences,
as the inverse cloze task of ORQA (Lee, Chang and Toutanova, ACL 2019) cuts Wikipedia into fixed
blocks. In every passage one sentence (chosen with a fixed seed) is taken out: it is the *query*,
and the rest of that passage its one relevant document. The pairs are shuffled with a fixed seed
(independent of the training seed) and split into held-out evaluation pairs (the first ``n_eval``)
and training pairs (the next ``n_train``, fewer when the corpus has fewer). The documentation of
CPython 3.11 gives 446 pairs, so ``n_eval`` is at most 223.

Evaluation: every evaluation query is ranked against all ``n_eval`` held-out passages by the cosine
of mean-pooled embeddings; Recall@1, MRR@10 and nDCG@10 are computed by ``ir-measures`` (which runs
``trec_eval`` through pytrec_eval: the TREC reference implementation). The primary metric (the one
per drift time) is MRR@10; all three of the last evaluation are in :attr:`RetrievalTask.last_metrics`,
which ``codesign accuracy`` reports as the result's ``measures`` at every drift time
(:mod:`codesign.accuracy.measures`). A larger ``n_eval`` is a larger corpus, so a harder task:
compare figures at one ``n_eval`` only.

Training needs no labels. ``retrieval`` (the workload ``minilm-retrieval``): distillation, as the
fidelity workload does: 1 - cosine to the digital model's embeddings of the training queries and
passages. ``retrieval-contrastive``: in-batch contrastive loss on the training (query, passage)
pairs (InfoNCE, the other passages of the batch are the negatives; :data:`CONTRASTIVE_SCALE`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from codesign.accuracy.workloads import Task
from codesign.accuracy.workloads.fidelity import FidelityTask
from codesign.errors import InputError

#: seed of the corpus split and of the sentence taken out of each passage (independent of the
#: training seed: every setting sees the same pairs)
_DATA_SEED = 20240602
#: sentences per passage before the query is taken out (assumed: 4 gives ~450 passages of 3
#: sentences, ~70 tokens, from pydoc_data; ORQA's blocks are 288 wordpieces of Wikipedia)
PASSAGE_SENTENCES = 4
#: shortest and longest sentence kept, characters (assumed: shorter ones are fragments such as
#: "See below.", longer ones are tables or lists flattened into one line)
SENTENCE_CHARS = (20, 300)
#: inverse temperature of the contrastive loss (sentence-transformers' MultipleNegativesRanking
#: loss default scale = 20, i.e. temperature 0.05, with which all-MiniLM-L6-v2 was trained)
CONTRASTIVE_SCALE = 20.0
#: the measures reported, as ir-measures names them -> the name used here
MEASURES = {"R@1": "recall@1", "RR@10": "mrr@10", "nDCG@10": "ndcg@10"}
#: the primary metric (the one per drift time)
PRIMARY = "mrr@10"
#: tasks this module answers: task name -> training objective
TASKS = {"retrieval": "distill", "retrieval-contrastive": "contrastive"}


@dataclass(frozen=True)
class Pair:
    """One inverse-cloze example: a sentence (query) and the rest of its passage."""

    query: str
    passage: str
    source: str          # pydoc topic and passage number, e.g. "for#2"


def prose_sentences(text: str) -> list[str]:
    """The sentences of a pydoc topic's prose, in order: blocks separated by blank lines, without
    indented blocks (code, grammar) and headings (a line underlined with * = - ~ ^)."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if not lines or any(ln[0] in " \t" for ln in lines):
            continue
        if re.fullmatch(r"[*=\-~^]+", lines[-1].strip()):
            continue
        flat = re.sub(r"\s+", " ", " ".join(lines)).strip()
        out += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", flat)
                if SENTENCE_CHARS[0] <= len(s) <= SENTENCE_CHARS[1]]
    return out


def chunk(sentences: Sequence[str], size: int = PASSAGE_SENTENCES) -> list[list[str]]:
    """Consecutive passages of ``size`` sentences (a shorter tail is dropped)."""
    return [list(sentences[k:k + size]) for k in range(0, len(sentences) - size + 1, size)]


def make_pair(sentences: Sequence[str], rng: random.Random, source: str) -> Pair:
    """The inverse-cloze pair of one passage: one sentence out (the query), the rest in order."""
    k = rng.randrange(len(sentences))
    rest = [s for i, s in enumerate(sentences) if i != k]
    return Pair(sentences[k], " ".join(rest), source)


def ict_pairs(topics: dict[str, str] | None = None, seed: int = _DATA_SEED) -> list[Pair]:
    """Every passage's inverse-cloze pair over ``topics`` (default: ``pydoc_data.topics``),
    shuffled with ``seed``."""
    if topics is None:
        import pydoc_data.topics as pydoc_topics

        topics = pydoc_topics.topics
    rng = random.Random(seed)
    pairs = [make_pair(p, rng, f"{key}#{i}") for key in sorted(topics)
             for i, p in enumerate(chunk(prose_sentences(topics[key])))]
    rng.shuffle(pairs)
    return pairs


def split(pairs: Sequence[Pair], n_train: int, n_eval: int) -> tuple[list[Pair], list[Pair]]:
    """(training, evaluation) pairs: the first ``n_eval`` (at most half of them) are held out,
    the next ``n_train`` train; the two never share a passage."""
    n_eval = min(n_eval, len(pairs) // 2)
    return list(pairs[n_eval:n_eval + n_train]), list(pairs[:n_eval])


def rank_measures(scores: Sequence[Sequence[float]], relevant: Sequence[int]) -> dict[str, float]:
    """Recall@1, MRR@10 and nDCG@10 (means over queries) of a score matrix (query x document,
    higher = more similar), query q's one relevant document being ``relevant[q]``; computed by
    ir-measures (trec_eval). Ties are broken as trec_eval does (by document id, descending)."""
    import ir_measures

    qrels = [ir_measures.Qrel(f"q{q}", f"d{d}", 1) for q, d in enumerate(relevant)]
    run = [ir_measures.ScoredDoc(f"q{q}", f"d{d}", float(s))
           for q, row in enumerate(scores) for d, s in enumerate(row)]
    measures = [ir_measures.parse_measure(m) for m in MEASURES]
    got = ir_measures.calc_aggregate(measures, qrels, run)
    return {MEASURES[str(m)]: float(got[m]) for m in measures}


class RetrievalTask(FidelityTask):
    """The inverse-cloze retrieval task (see the module docstring). Reuses the fidelity workload's
    tokenising, length-sorted batching and mean pooling."""

    metric = PRIMARY
    kind = "encoder"

    def __init__(self, spec):
        Task.__init__(self, spec)
        if spec.task not in TASKS:
            raise InputError(f"workload.task: {spec.task!r} is not a retrieval task "
                             f"({', '.join(TASKS)})")
        self.objective = TASKS[spec.task]
        pairs = ict_pairs()
        if not 2 <= spec.n_eval <= len(pairs) // 2:
            raise InputError(f"workload.n_eval: the retrieval corpus is the held-out passages: "
                             f"2 to {len(pairs) // 2} (half the {len(pairs)} passages), got "
                             f"{spec.n_eval}")
        self.train_pairs, self.eval_pairs = split(pairs, spec.n_train, spec.n_eval)
        self.train_text = [p.query for p in self.train_pairs] + \
                          [p.passage for p in self.train_pairs]
        self.tokenizer = None
        self._encoded: dict[tuple[tuple[str, ...], int], list] = {}
        self.teacher_train = None
        self.last_metrics: dict[str, float] = {}

    def prepare(self, model) -> None:
        if self.objective == "distill":
            device = next(model.parameters()).device
            self.teacher_train = self._embed_all(model, self.train_text, device)

    def train_batches(self, batch_size: int, seed: int) -> Iterator[dict[str, Any]]:
        if self.objective == "distill":
            yield from super().train_batches(batch_size, seed)
            return
        pairs = self.train_pairs
        lengths = self._token_lengths([p.passage for p in pairs])
        for idx in self.index_batches(len(pairs), batch_size, seed, lengths):
            yield {"query": dict(self._encode([pairs[i].query for i in idx])),
                   "passage": dict(self._encode([pairs[i].passage for i in idx]))}

    def loss(self, model, batch):
        if self.objective == "distill":
            return super().loss(model, batch)
        return self.contrastive_loss(model, batch)

    def contrastive_loss(self, model, batch):
        """InfoNCE over the batch: query i's positive is passage i, the others are negatives."""
        import torch
        import torch.nn.functional as F

        device = next(p for p in model.parameters()).device
        q = self.embed(model, {k: v.to(device) for k, v in batch["query"].items()})
        p = self.embed(model, {k: v.to(device) for k, v in batch["passage"].items()})
        logits = CONTRASTIVE_SCALE * F.normalize(q, dim=-1) @ F.normalize(p, dim=-1).T
        return F.cross_entropy(logits, torch.arange(len(q), device=device))

    def evaluate(self, model, device) -> float:
        import torch.nn.functional as F

        q = F.normalize(self._embed_all(model, [p.query for p in self.eval_pairs], device), dim=-1)
        d = F.normalize(self._embed_all(model, [p.passage for p in self.eval_pairs], device),
                        dim=-1)
        self.last_metrics = rank_measures((q @ d.T).tolist(), range(len(self.eval_pairs)))
        return self.last_metrics[PRIMARY]
