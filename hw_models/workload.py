"""Networks as the hardware sees them: linear layers (on AIMC tiles) and digital ops (on the PMCA),
read from Hugging Face ``config.json`` files without weights and without ``transformers``.

A :class:`Network` is a prologue (embedding projections) followed by ``num_hidden_layers`` identical
transformer blocks. Each block is a small dataflow graph: nodes name their inputs (``"in"`` is the
block input); the last node is the block output. Element-wise work after a layer (activation,
residual add, layer norm) is fused into that layer's PMCA stage as ``post_flops`` per token.
Task heads (classifier, qa_outputs, lm_head) and the BERT pooler (one token) are not part of the
network: they stay digital and are task-specific (same convention as codesign.accuracy.roles).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from ._fields import SpecError
from .specs import ROLES

#: networks shipped under hw_models/configs/ (name -> file)
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
NETWORKS = ("mobilebert", "bert-base", "bert-large", "minilm-l6", "llama-3.1-8b")


@dataclass(frozen=True)
class LinearLayer:
    """One analog linear layer: ``m`` inputs x ``n`` outputs, ``count`` identical copies in the
    network (one per block for block layers), its LoRA role, its inputs in the block graph and the
    element-wise FLOP per token fused after it on its PMCA (activation, residual add, norm)."""

    name: str
    role: str
    m: int
    n: int
    count: int = 1
    inputs: tuple[str, ...] = ("in",)
    post_flops: float = 0.0

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise SpecError(f"layer {self.name}.role: must be one of {', '.join(ROLES)}; "
                            f"got {self.role!r}")
        for field, value in (("m", self.m), ("n", self.n), ("count", self.count)):
            if not isinstance(value, int) or value <= 0:
                raise SpecError(f"layer {self.name}.{field}: must be a positive integer, "
                                f"got {value!r}")


@dataclass(frozen=True)
class AttentionOp:
    """Scaled dot-product attention of a block, on the PMCA: per chunk of t queries and S keys,
    ``heads`` x (Q K^T: t x d x S, softmax: t x S, P V: t x S x d).

    ``query``/``keys`` name the producing layers; ``causal`` attention for chunk k needs keys of
    chunks <= k, otherwise all keys of the sequence (a barrier). ``servers`` names the Q/K/V layers
    (the clusters of the ``qkv`` mapping, :class:`~hw_models.specs.AttentionSpec`); ``kv_heads``
    the key/value heads (grouped-query attention; 0 = one per query head), which size the KV cache.
    """

    name: str
    heads: int
    head_dim: int
    query: str
    keys: tuple[str, ...]
    servers: tuple[str, ...]
    causal: bool = False
    count: int = 1
    softmax_flops: float = 5.0  #: max, subtract, exp, sum, divide per score
    kv_heads: int = 0

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.query, *self.keys)

    def kv_bytes_per_token(self, bytes_per_element: int) -> int:
        """Bytes of K and V one token adds to this block's KV cache."""
        return 2 * (self.kv_heads or self.heads) * self.head_dim * bytes_per_element


Node = Union[LinearLayer, AttentionOp]


@dataclass(frozen=True)
class Network:
    """A transformer's linear layers and digital ops, as a prologue + identical blocks."""

    name: str
    model_type: str
    num_hidden_layers: int
    hidden_size: int
    prologue: tuple[LinearLayer, ...]
    block: tuple[Node, ...]
    vocab_size: int = 0    #: a decoder's vocabulary (its LM head's outputs); 0: none costed

    @property
    def layers(self) -> list[LinearLayer]:
        """All distinct linear layers (block layers carry ``count = num_hidden_layers``)."""
        return [*self.prologue, *(n for n in self.block if isinstance(n, LinearLayer))]

    @property
    def digital_ops(self) -> list[AttentionOp]:
        """The digital matmul ops of a block (attention), ``count`` = blocks."""
        return [n for n in self.block if isinstance(n, AttentionOp)]

    @property
    def linear_count(self) -> int:
        """Number of linear layers in the whole network."""
        return sum(layer.count for layer in self.layers)

    def adapter_params(self, rank: int, roles) -> int:
        """LoRA parameters: sum of r (m + n) over the layers whose role is selected."""
        return sum(rank * (L.m + L.n) * L.count for L in self.layers if L.role in roles)


#: largest config.json read; widest layer dimension and deepest network a config may give
#: (LLaMA-3.1-405B: width 16384, FFN 53248, 126 layers)
MAX_CONFIG_BYTES = 1 << 20
MAX_WIDTH = 131072
MAX_LAYERS = 1024
#: widest attention head a config may give (assumption: published models use 64 .. 256; a wider
#: one is a typing error, and the attention model's per-head buffers grow with it)
MAX_HEAD_DIM = 1024


def load_network(name_or_path: str) -> Network:
    """A shipped network by name (``mobilebert``, ``bert-base``, ``bert-large``, ``minilm-l6``,
    ``llama-3.1-8b``) or any BERT-like / LLaMA-like ``config.json`` path (or its directory)."""
    key = str(name_or_path).strip()
    if key.lower() in NETWORKS:
        path = CONFIG_DIR / f"{key.lower()}.json"
        label = key.lower()
    else:
        path = Path(os.path.expanduser(key))
        if path.is_dir():
            path = path / "config.json"
        if not path.is_file():
            raise SpecError(f"network: unknown model {key!r}; use one of {', '.join(NETWORKS)} "
                            f"or a path to a config.json")
        label = path.parent.name if path.name == "config.json" else path.stem
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise SpecError(f"network: {path} is larger than {MAX_CONFIG_BYTES // 1024} KiB; "
                            f"a model config.json is a few KiB")
        config = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecError(f"network: {path} is not UTF-8 JSON (byte at offset {exc.start})") from None
    except RecursionError:
        raise SpecError(f"network: {path} is nested too deeply to be a model config") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"network: cannot read {path}: {exc}".splitlines()[0]) from None
    if not isinstance(config, dict):
        raise SpecError(f"network: {path} is not a JSON object")
    return network_from_config(config, label)


def _get(config: dict, key: str, default=None, *, label: str):
    value = config.get(key, default)
    if value is None:
        raise SpecError(f"network: config of {label!r} lacks {key!r}")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SpecError(f"network: config {key!r} of {label!r} must be a positive integer, "
                        f"got {value!r}")
    most = MAX_LAYERS if key in ("num_hidden_layers", "n_layers") else MAX_WIDTH
    if value > most:
        raise SpecError(f"network: config {key!r} of {label!r} must be at most {most}, "
                        f"got {value!r}")
    return value


def _flag(config: dict, key: str, default: bool, *, label: str) -> bool:
    """A true/false field of a config (``use_bottleneck``); a string or number is refused (the
    text "false" is no false)."""
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise SpecError(f"network: config {key!r} of {label!r} must be true or false, "
                        f"got {value!r}")
    return value


def _head_dim(width: int, heads: int, label: str) -> int:
    """Per-head width; refuses more heads than the width has elements (a head of width 0) and a
    width that does not split evenly into its heads (transformers refuses such a config)."""
    if heads > width:
        raise SpecError(f"network: config of {label!r} has {heads} attention heads for a width of "
                        f"{width}: at most one head per element")
    if width % heads:
        raise SpecError(f"network: config of {label!r}: a width of {width} does not split into "
                        f"{heads} attention heads (it must be a multiple of the heads)")
    return _check_head_dim(width // heads, heads, label)


def _check_head_dim(head_dim: int, heads: int, label: str) -> int:
    if head_dim > MAX_HEAD_DIM or heads * head_dim > MAX_WIDTH:
        raise SpecError(f"network: config 'head_dim' of {label!r} must be at most {MAX_HEAD_DIM} "
                        f"with heads x head_dim at most {MAX_WIDTH}, got {head_dim} x {heads} "
                        f"heads")
    return head_dim


def _kv_heads(kv: int, heads: int, label: str) -> int:
    """Key/value heads of grouped-query attention: each serves heads / kv query heads, so kv
    divides the query heads (and is at most as many)."""
    if kv > heads or heads % kv:
        raise SpecError(f"network: config 'num_key_value_heads' of {label!r} must divide "
                        f"num_attention_heads ({heads}): each K/V head serves an equal group of "
                        f"query heads; got {kv}")
    return kv


#: element-wise FLOP per element of common post-ops (documented estimates, cores)
ACT_FLOPS = {"gelu": 8.0, "gelu_new": 8.0, "relu": 1.0, "silu": 4.0, "swish": 4.0, "tanh": 6.0}
LAYERNORM_FLOPS = 8.0   #: mean, variance, normalise, scale, shift
NONORM_FLOPS = 2.0      #: MobileBERT NoNorm: element-wise scale and shift
RMSNORM_FLOPS = 4.0     #: square, sum, rsqrt-scale, weight
RESIDUAL_FLOPS = 1.0


def network_from_config(config: dict, label: str = "custom") -> Network:
    """Build a :class:`Network` from a parsed Hugging Face config dict (BERT-like or LLaMA-like)."""
    model_type = str(config.get("model_type", "")).lower()
    if model_type == "mobilebert":
        return _mobilebert(config, label)
    if model_type in ("bert", "roberta", "xlm-roberta", "electra", "camembert", "distilbert"):
        return _bert(config, label)
    if model_type in ("llama", "mistral", "qwen2", "gemma", "phi3"):
        return _llama(config, label)
    raise SpecError(f"network: model_type {model_type or '(missing)'!r} of {label!r} is not "
                    f"supported; use a BERT-like or LLaMA-like config")


def _bert(c: dict, label: str) -> Network:
    g = lambda k, d=None: _get(c, k, d, label=label)  # noqa: E731
    if c.get("model_type") == "distilbert":
        h, ff, heads, L = g("dim"), g("hidden_dim"), g("n_heads"), g("n_layers")
        act = str(c.get("activation", "gelu"))
    else:
        h, ff, heads, L = (g("hidden_size"), g("intermediate_size"), g("num_attention_heads"),
                           g("num_hidden_layers"))
        act = str(c.get("hidden_act", "gelu"))
    norm = RESIDUAL_FLOPS + LAYERNORM_FLOPS
    block = (
        LinearLayer("query", "query", h, h, L),
        LinearLayer("key", "key", h, h, L),
        LinearLayer("value", "value", h, h, L),
        AttentionOp("attention", heads, _head_dim(h, heads, label), "query", ("key", "value"),
                    servers=("query", "key", "value"), count=L),
        LinearLayer("attention.output.dense", "attn_out", h, h, L, ("attention", "in"), norm * h),
        LinearLayer("intermediate.dense", "ffn_in", h, ff, L, ("attention.output.dense",),
                    ACT_FLOPS.get(act, 8.0) * ff),
        LinearLayer("output.dense", "ffn_out", ff, h, L, ("intermediate.dense",), norm * h),
    )
    return Network(label, str(c.get("model_type")), L, h, (), block)


def _mobilebert(c: dict, label: str) -> Network:
    g = lambda k, d=None: _get(c, k, d, label=label)  # noqa: E731
    h, emb, ff = g("hidden_size"), g("embedding_size"), g("intermediate_size")
    heads, L = g("num_attention_heads"), g("num_hidden_layers")
    nffn = g("num_feedforward_networks", 1)
    f = lambda k, d: _flag(c, k, d, label=label)  # noqa: E731
    use_bneck = f("use_bottleneck", True)
    true_h = g("intra_bottleneck_size") if use_bneck else h
    shared = f("key_query_shared_bottleneck", False) and use_bneck
    bneck_attn = f("use_bottleneck_attention", False)
    act = ACT_FLOPS.get(str(c.get("hidden_act", "relu")), 1.0)
    nrm = NONORM_FLOPS if c.get("normalization_type", "no_norm") == "no_norm" else LAYERNORM_FLOPS
    emb_in = emb * (3 if f("trigram_input", True) else 1)
    prologue = (LinearLayer("embeddings.embedding_transformation", "other", emb_in, h, 1,
                            post_flops=(nrm + 2 * RESIDUAL_FLOPS) * h),)
    nodes: list[Node] = []
    if use_bneck:
        nodes.append(LinearLayer("bottleneck.input.dense", "other", h, true_h, L,
                                 post_flops=nrm * true_h))
        qk_src = "bottleneck.input.dense"
        if shared:
            nodes.append(LinearLayer("bottleneck.attention.dense", "other", h, true_h, L,
                                     post_flops=nrm * true_h))
            qk_src = "bottleneck.attention.dense"
    else:
        qk_src = "in"
    v_src = "bottleneck.input.dense" if (use_bneck and bneck_attn) else "in"
    v_in = true_h if v_src != "in" else h
    nodes += [LinearLayer("attention.self.query", "query", true_h if qk_src != "in" else h,
                          true_h, L, (qk_src,)),
              LinearLayer("attention.self.key", "key", true_h if qk_src != "in" else h,
                          true_h, L, (qk_src,)),
              LinearLayer("attention.self.value", "value", v_in, true_h, L, (v_src,))]
    qkv = ("attention.self.query", "attention.self.key", "attention.self.value")
    nodes.append(AttentionOp("attention", heads, _head_dim(true_h, heads, label), qkv[0], qkv[1:],
                             servers=qkv, count=L))
    res = "bottleneck.input.dense" if use_bneck else "in"
    nodes.append(LinearLayer("attention.output.dense", "attn_out", true_h, true_h, L,
                             ("attention", res), (RESIDUAL_FLOPS + nrm) * true_h))
    prev = "attention.output.dense"
    for i in range(nffn - 1):
        nodes.append(LinearLayer(f"ffn.{i}.intermediate.dense", "ffn_in", true_h, ff, L, (prev,),
                                 act * ff))
        nodes.append(LinearLayer(f"ffn.{i}.output.dense", "ffn_out", ff, true_h, L,
                                 (f"ffn.{i}.intermediate.dense", prev),
                                 (RESIDUAL_FLOPS + nrm) * true_h))
        prev = f"ffn.{i}.output.dense"
    nodes.append(LinearLayer("intermediate.dense", "ffn_in", true_h, ff, L, (prev,), act * ff))
    nodes.append(LinearLayer("output.dense", "ffn_out", ff, true_h, L, ("intermediate.dense", prev),
                             (RESIDUAL_FLOPS + nrm) * true_h))
    if use_bneck:
        nodes.append(LinearLayer("output.bottleneck.dense", "other", true_h, h, L,
                                 ("output.dense", "in"), (RESIDUAL_FLOPS + nrm) * h))
    return Network(label, "mobilebert", L, h, prologue, tuple(nodes))


def _llama(c: dict, label: str) -> Network:
    g = lambda k, d=None: _get(c, k, d, label=label)  # noqa: E731
    h, ff, heads, L = (g("hidden_size"), g("intermediate_size"), g("num_attention_heads"),
                       g("num_hidden_layers"))
    kv = _kv_heads(g("num_key_value_heads", heads), heads, label)
    if c.get("head_dim") is None:
        hd = _head_dim(h, heads, label)
    else:
        hd = _check_head_dim(g("head_dim"), heads, label)
    act = ACT_FLOPS.get(str(c.get("hidden_act", "silu")), 4.0) + 1.0  # act(gate) * up
    block = (
        LinearLayer("self_attn.q_proj", "query", h, heads * hd, L),
        LinearLayer("self_attn.k_proj", "key", h, kv * hd, L),
        LinearLayer("self_attn.v_proj", "value", h, kv * hd, L),
        AttentionOp("attention", heads, hd, "self_attn.q_proj",
                    ("self_attn.k_proj", "self_attn.v_proj"),
                    servers=("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
                    causal=True, count=L, kv_heads=kv),
        LinearLayer("self_attn.o_proj", "attn_out", heads * hd, h, L, ("attention", "in"),
                    (RESIDUAL_FLOPS + RMSNORM_FLOPS) * h),
        LinearLayer("mlp.gate_proj", "ffn_in", h, ff, L, ("self_attn.o_proj",)),
        LinearLayer("mlp.up_proj", "ffn_in", h, ff, L, ("self_attn.o_proj",), act * ff),
        LinearLayer("mlp.down_proj", "ffn_out", ff, h, L, ("mlp.gate_proj", "mlp.up_proj"),
                    (RESIDUAL_FLOPS + RMSNORM_FLOPS) * h),
    )
    vocab = g("vocab_size") if c.get("vocab_size") is not None else 0
    return Network(label, "llama", L, h, (), block, vocab)
