"""The offline default workload: embedding fidelity of all-MiniLM-L6-v2 on real English text.

Text: sentences of the Python language reference and library documentation that every CPython
ships as ``pydoc_data.topics`` (the text ``help()`` prints). Sentences of 40..160 characters that
start with a capitalised word are kept, de-duplicated and shuffled with a fixed seed (independent
of the training seed), then split into disjoint train and evaluation sets.

Metric ``cosine_fidelity``: the mean cosine similarity between the analog model's mean-pooled
sentence embedding and the digital model's, over the evaluation sentences (the digital model scores
1.0). It measures how faithfully the noisy analog network reproduces the pretrained one; the
training loss is 1 - cosine to the digital embeddings of the training sentences (distillation, no
labels needed).
"""

from __future__ import annotations

import random
import re
from typing import Any, Iterator

from codesign.accuracy.workloads import Task

_DATA_SEED = 20240601


def stdlib_sentences() -> list[str]:
    """Real English sentences from the CPython documentation shipped in ``pydoc_data``."""
    import pydoc_data.topics as topics

    seen, out = set(), []
    for key in sorted(topics.topics):
        text = re.sub(r"\s+", " ", topics.topics[key])
        for s in re.split(r"(?<=[.!?])\s+", text):
            if 40 <= len(s) <= 160 and re.match(r"^[A-Z][a-z]+ ", s) and s.count("*") < 2 \
                    and "::" not in s and s not in seen:
                seen.add(s)
                out.append(s)
    random.Random(_DATA_SEED).shuffle(out)
    return out


class FidelityTask(Task):
    metric = "cosine_fidelity"
    kind = "encoder"

    def __init__(self, spec):
        super().__init__(spec)
        sents = stdlib_sentences()
        n_eval = min(spec.n_eval, len(sents) // 2)
        self.eval_text = sents[:n_eval]
        self.train_text = sents[n_eval:n_eval + spec.n_train]
        self.tokenizer = None
        self._encoded: dict[tuple[tuple[str, ...], int], list] = {}   # (texts, batch size)
        self.teacher_train = None
        self.teacher_eval = None

    def load_model(self):
        from codesign.accuracy.models import load_model, load_tokenizer

        self.tokenizer = load_tokenizer(self.spec.model)
        try:
            return load_model(self.spec.model, "encoder", add_pooling_layer=False)
        except TypeError:
            return load_model(self.spec.model, "encoder")

    def _encode(self, texts):
        return self.tokenizer(list(texts), padding=True, truncation=True,
                              max_length=self.spec.max_seq_len, return_tensors="pt")

    def _token_lengths(self, texts) -> list[int]:
        """Tokens per text after truncation: what padding depends on (characters are a poor
        proxy on this text: sorted by characters, batches of 16 padded 1.5 rows per real one)."""
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.spec.max_seq_len)
        return [len(x) for x in ids["input_ids"]]

    def _batches(self, texts, batch_size):
        """Batches of texts sorted by token count (little padding), as (indices, encoded batch);
        tokenised once per list (the evaluation set is embedded at every drift time and draw)."""
        key = (tuple(texts), batch_size)
        if key not in self._encoded:
            lengths = self._token_lengths(texts)
            order = sorted(range(len(texts)), key=lambda i: lengths[i])
            self._encoded[key] = [(order[k:k + batch_size],
                                   self._encode([texts[i] for i in order[k:k + batch_size]]))
                                  for k in range(0, len(order), batch_size)]
        return self._encoded[key]

    @staticmethod
    def embed(model, enc):
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                    token_type_ids=enc.get("token_type_ids"))
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)

    def _embed_all(self, model, texts, device):
        import torch

        out = torch.empty(len(texts), model.config.hidden_size)
        with torch.no_grad():
            for idx, enc in self._batches(texts, self.spec.eval_batch_size):
                enc = {k: v.to(device) for k, v in enc.items()}
                out[idx] = self.embed(model, enc).float().cpu()
        return out

    def prepare(self, model) -> None:
        device = next(model.parameters()).device
        self.teacher_eval = self._embed_all(model, self.eval_text, device)
        self.teacher_train = self._embed_all(model, self.train_text, device)

    def train_batches(self, batch_size: int, seed: int) -> Iterator[dict[str, Any]]:
        lengths = self._token_lengths(self.train_text)
        for idx in self.index_batches(len(self.train_text), batch_size, seed, lengths):
            enc = self._encode([self.train_text[i] for i in idx])
            yield {"enc": dict(enc), "target": self.teacher_train[idx]}

    def loss(self, model, batch):
        import torch.nn.functional as F

        device = next(p for p in model.parameters()).device
        enc = {k: v.to(device) for k, v in batch["enc"].items()}
        emb = self.embed(model, enc)
        return (1.0 - F.cosine_similarity(emb, batch["target"].to(device), dim=-1)).mean()

    def evaluate(self, model, device) -> float:
        import torch.nn.functional as F

        emb = self._embed_all(model, self.eval_text, device)
        return float(F.cosine_similarity(emb, self.teacher_eval, dim=-1).mean())
