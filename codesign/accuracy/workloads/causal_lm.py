"""Decoder workloads (the paper's LLaMA work): a causal LM through ``AutoModelForCausalLM``.

Training (``WorkloadSpec.train_data``): instruction tuning of the adapters on (prompt, response)
pairs in the Alpaca format (a json list or jsonl of ``instruction``, optional ``input``,
``output``; Alpaca's prompt template; the loss is taken on the response tokens only), or plain
text (a ``.txt`` file, one example per line; loss on every token). Default: the English sentences
of the CPython documentation (:func:`~codesign.accuracy.workloads.fidelity.stdlib_sentences`).

Evaluation (``WorkloadSpec.eval_data``):

- ``perplexity`` (a ``.txt`` file, one text per line; default: held-out CPython documentation
  sentences): exp of the mean negative log-likelihood per predicted token. Lower is better.
- ``mc_accuracy`` (a jsonl of multiple-choice items): zero-shot accuracy, the choice with the
  highest log-likelihood given the context wins (the paper's Table 4 kind; the lm-evaluation-
  harness ``acc``). Layouts recognised per line: ARC (``question`` as a string or ``{stem,
  choices}``, ``choices: {text, label}``, ``answerKey``), HellaSwag (``ctx``, ``endings``,
  ``label``) and PIQA (``goal``, ``sol1``, ``sol2``, ``label``); contexts are formatted as the
  harness does ("Question: ...\\nAnswer:" for ARC and PIQA, the bare context for HellaSwag, each
  choice after a space).

LLaMA's q/k/v/o/gate/up/down projections carry the placement roles query, key, value, attn_out,
ffn_in, ffn_in, ffn_out (:mod:`codesign.accuracy.roles`, the roles of :mod:`hw_models`);
``lm_head`` is a task head and stays digital and frozen.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator

from codesign.accuracy.workloads import Task
from codesign.errors import InputError

#: Alpaca's prompt template (Taori et al. 2023, stanford_alpaca train.py)
ALPACA_PROMPT = ("Below is an instruction that describes a task{ctx}. Write a response that "
                 "appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n"
                 "{input}### Response:\n")


def alpaca_prompt(instruction: str, input_: str = "") -> str:
    if input_:
        return ALPACA_PROMPT.format(ctx=", paired with an input that provides further context",
                                    instruction=instruction, input=f"### Input:\n{input_}\n\n")
    return ALPACA_PROMPT.format(ctx="", instruction=instruction, input="")


def _records(path: Path, where: str) -> list:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: {path} is not UTF-8 text (byte at offset {exc.start})") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
            return data if isinstance(data, list) else [data]
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise InputError(f"{where}: {path} is not valid json/jsonl ({exc})") from None


def _existing(path: str, where: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"{where}: no such file {path!r}")
    return p


def _lines(path: Path, where: str) -> list[str]:
    """The non-blank lines of a text file, stripped."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: {path} is not UTF-8 text (byte at offset {exc.start})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _text(r: dict, key: str, where: str, *, optional: bool = False) -> str:
    """A text field of a record: a string (a null, number or list is refused, never read as the
    text 'None' or '5'); an optional one may be absent or null (empty)."""
    value = r.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where}: {key!r} must be a text, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_pairs(path: str | None, fallback: list[str]) -> list[tuple[str, str]]:
    """(prompt, response) pairs: Alpaca json/jsonl, a text file (empty prompts), or ``fallback``.
    InputError naming workload.train_data when the file holds no example."""
    if path is None:
        return [("", t) for t in fallback]
    p = _existing(path, "workload.train_data")
    if p.suffix == ".txt":
        pairs = [("", line) for line in _lines(p, "workload.train_data")]
    else:
        pairs = []
        for i, r in enumerate(_records(p, "workload.train_data")):
            where = f"workload.train_data: record {i} of {path}"
            if not isinstance(r, dict) or "instruction" not in r or "output" not in r:
                raise InputError(f"{where} is not in the Alpaca format (instruction, optional "
                                 "input, output)")
            output = _text(r, "output", where)
            if not output.strip():
                raise InputError(f"{where}: 'output' is empty (nothing to learn)")
            pairs.append((alpaca_prompt(_text(r, "instruction", where),
                                        _text(r, "input", where, optional=True)), output))
    if not pairs:
        raise InputError(f"workload.train_data: {path} holds no training example (a .txt needs "
                         "one non-blank line per example, a json/jsonl Alpaca records)")
    return pairs


def _label(value: Any, n: int, where: str, key: str = "label") -> int:
    """A choice index 0 .. n-1 given as an integer or its digits ("3", as HellaSwag stores it)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
        raise InputError(f"{where}: {key!r} must be a choice index 0 .. {n - 1}, got "
                         f"{_show(value)}")
    return value


def _choices(value: Any, where: str, key: str) -> list[str]:
    """Two or more choice texts: a list of strings (one string is not split into letters)."""
    if not isinstance(value, list) or len(value) < 2 or not all(isinstance(c, str) for c in value):
        raise InputError(f"{where}: {key!r} must be a list of two or more texts, got "
                         f"{_show(value)}")
    return value


def mc_item(r: dict, where: str) -> tuple[str, list[str], int]:
    """(context, choices each with its leading space, index of the right one) of one ARC,
    HellaSwag or PIQA record."""
    if not isinstance(r, dict):
        raise InputError(f"{where}: must be a JSON object, got {_show(r)}")
    if "endings" in r and "ctx" in r:                                   # HellaSwag
        endings = _choices(r["endings"], where, "endings")
        return (_text(r, "ctx", where), [" " + e for e in endings],
                _label(r.get("label"), len(endings), where))
    if "goal" in r and "sol1" in r:                                     # PIQA
        sols = [_text(r, "sol1", where), _text(r, "sol2", where)]
        return (f"Question: {_text(r, 'goal', where)}\nAnswer:", [" " + s for s in sols],
                _label(r.get("label"), 2, where))
    if "question" in r and "answerKey" in r:                            # ARC
        q = r["question"]
        choices = r.get("choices") or (q.get("choices") if isinstance(q, dict) else None)
        stem = _text(q, "stem", where) if isinstance(q, dict) else _text(r, "question", where)
        if isinstance(choices, dict):
            texts, labels = choices.get("text"), choices.get("label")
        elif isinstance(choices, list) and all(isinstance(c, dict) for c in choices):
            texts, labels = [c.get("text") for c in choices], [c.get("label") for c in choices]
        else:
            raise InputError(f"{where}: 'choices' must be {{text: [...], label: [...]}} or a list "
                             f"of {{text, label}}, got {_show(choices)}")
        texts = _choices(texts, where, "choices.text")
        if not isinstance(labels, list) or len(labels) != len(texts) \
                or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in labels):
            raise InputError(f"{where}: 'choices.label' must list one label per choice text, got "
                             f"{_show(labels)}")
        labels = [str(x) for x in labels]
        key = r["answerKey"]
        if isinstance(key, bool) or not isinstance(key, (str, int)) or str(key) not in labels:
            raise InputError(f"{where}: answerKey {key!r} not among the labels {labels}")
        return f"Question: {stem}\nAnswer:", [" " + t for t in texts], labels.index(str(key))
    raise InputError(f"{where}: not an ARC (question, choices, answerKey), HellaSwag (ctx, "
                     "endings, label) or PIQA (goal, sol1, sol2, label) record")


class CausalLMTask(Task):
    kind = "causal_lm"

    def __init__(self, spec):
        super().__init__(spec)
        from codesign.accuracy.workloads.fidelity import stdlib_sentences

        sents = stdlib_sentences()
        n_eval = min(spec.n_eval, len(sents) // 2)
        self.mc: list[tuple[str, list[str], int]] = []
        self.eval_text: list[str] = []
        if spec.eval_data is None:
            self.eval_text = sents[:n_eval]
        else:
            p = _existing(spec.eval_data, "workload.eval_data")
            if p.suffix == ".txt":
                self.eval_text = _lines(p, "workload.eval_data")[:spec.n_eval]
            else:
                self.mc = [mc_item(r, f"workload.eval_data: record {i} of {p}")
                           for i, r in enumerate(_records(p, "workload.eval_data"))][:spec.n_eval]
        if not self.mc and not self.eval_text:
            raise InputError(f"workload.eval_data: {spec.eval_data} holds no example")
        self.metric = "mc_accuracy" if self.mc else "perplexity"
        self.train_pairs = load_pairs(spec.train_data, sents[n_eval:])[:spec.n_train]
        self.tokenizer = None

    def load_model(self):
        from codesign.accuracy.models import load_model, load_tokenizer

        tok = load_tokenizer(self.spec.model)
        if tok.eos_token is None and tok.sep_token is not None:
            tok.eos_token = tok.sep_token
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        tok.padding_side = "right"
        self.tokenizer = tok
        self.check_lengths()
        return load_model(self.spec.model, "causal_lm")

    def check_lengths(self) -> None:
        """Every training example and every multiple-choice item keeps at least one token to
        learn or score after truncation to max_seq_len (else its loss is NaN, its choices tie):
        InputError naming workload.max_seq_len and the length it needs."""
        longest = self.spec.max_seq_len
        items = [(f"training example {i}", p, r, True) for i, (p, r) in enumerate(self.train_pairs)]
        items += [(f"evaluation item {i}", ctx, c, False) for i, (ctx, cs, _) in enumerate(self.mc)
                  for c in cs]
        for what, prompt, response, eos in items:
            ids, n_prompt = self._example(prompt, response, eos)
            if n_prompt >= len(ids):
                need = len(self._ids(prompt)) + (self.tokenizer.bos_token_id is not None) + 1
                raise InputError(f"workload.max_seq_len: {longest} tokens hold only the prompt of "
                                 f"{what} (it takes {need - 1} tokens, a template included): give "
                                 f"max_seq_len >= {need} or a shorter prompt")

    # ---- token sequences ------------------------------------------------------------------
    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _example(self, prompt: str, response: str, eos: bool = True) -> tuple[list[int], int]:
        """Token ids of prompt + response (+ eos), cut at max_seq_len, and how many leading ids
        are the prompt (plus a BOS where the tokenizer has one)."""
        tok = self.tokenizer
        head = [tok.bos_token_id] if tok.bos_token_id is not None else []
        p, r = self._ids(prompt) if prompt else [], self._ids(response)
        ids = (head + p + r + ([tok.eos_token_id] if eos else []))[:self.spec.max_seq_len]
        return ids, min(len(head) + len(p), len(ids))

    def _collate(self, examples: list[tuple[list[int], int]]) -> dict[str, Any]:
        """input_ids, attention_mask and labels (-100 on the prompt and on padding)."""
        import torch

        n = max(len(ids) for ids, _ in examples)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(examples), n), pad, dtype=torch.long)
        mask = torch.zeros((len(examples), n), dtype=torch.long)
        labels = torch.full((len(examples), n), -100, dtype=torch.long)
        for i, (ids, n_prompt) in enumerate(examples):
            input_ids[i, :len(ids)] = torch.tensor(ids)
            mask[i, :len(ids)] = 1
            labels[i, n_prompt:len(ids)] = torch.tensor(ids[n_prompt:])
        return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}

    @staticmethod
    def token_logprobs(model, batch: dict[str, Any], device):
        """Per sequence: the sum of log p(token | tokens before) over the labelled tokens, and
        their count."""
        import torch

        b = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        target = b["labels"][:, 1:]
        keep = target != -100
        picked = logp.gather(-1, target.clamp_min(0).unsqueeze(-1)).squeeze(-1) * keep
        return picked.sum(-1).cpu(), keep.sum(-1).cpu()

    # ---- the Task interface ---------------------------------------------------------------
    def train_batches(self, batch_size: int, seed: int) -> Iterator[dict[str, Any]]:
        examples = [self._example(p, r) for p, r in self.train_pairs]
        lengths = [len(ids) for ids, _ in examples]
        for idx in self.index_batches(len(examples), batch_size, seed, lengths):
            yield self._collate([examples[i] for i in idx])

    def loss(self, model, batch):
        device = next(p for p in model.parameters()).device
        b = {k: v.to(device) for k, v in batch.items()}
        return model(**b).loss

    def perplexity(self, model, device) -> float:
        total, count = 0.0, 0
        examples = sorted((self._example("", t) for t in self.eval_text), key=lambda e: len(e[0]))
        size = self.spec.eval_batch_size
        for k in range(0, len(examples), size):
            lp, n = self.token_logprobs(model, self._collate(examples[k:k + size]), device)
            total, count = total - float(lp.sum()), count + int(n.sum())
        return math.exp(total / max(count, 1))

    def choice_logliks(self, model, device) -> list[list[float]]:
        """Log-likelihood of each choice's tokens given its context, per item."""
        seqs, owner = [], []
        for i, (ctx, choices, _) in enumerate(self.mc):
            for c in choices:
                seqs.append(self._example(ctx, c, eos=False))
                owner.append(i)
        out: list[list[float]] = [[] for _ in self.mc]
        size = self.spec.eval_batch_size
        order = sorted(range(len(seqs)), key=lambda j: len(seqs[j][0]))
        values = [0.0] * len(seqs)
        for k in range(0, len(order), size):
            idx = order[k:k + size]
            batch = self._collate([seqs[j] for j in idx])
            lp, _ = self.token_logprobs(model, batch, device)
            for j, v in zip(idx, lp.tolist()):
                values[j] = v
        for j, i in enumerate(owner):
            out[i].append(values[j])
        return out

    def evaluate(self, model, device) -> float:
        import torch

        with torch.no_grad():
            if not self.mc:
                return self.perplexity(model, device)
            ll = self.choice_logliks(model, device)
            right = sum(int(max(range(len(v)), key=v.__getitem__) == item[2])
                        for v, item in zip(ll, self.mc))
            return right / len(self.mc)
