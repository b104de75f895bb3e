"""Layers on chips, and what crosses between chips: the chip links' time, bytes and energy.

Weights are stationary and every tile exists at once (:mod:`hw_models.area`). The tiles fill
``chip.tiles_per_chip``-tile chips in network order: the prologue, block 0's linear layers in
block order, block 1's, ..., and a decoder's LM head (``lm_head.placement = tiles``) last. A
layer's tiles are laid column group by column group (the row tiles of one group of outputs
side by side), so its partial sums cross a chip only where a chip boundary cuts a column group.

What crosses (one chip-link port per chip, :class:`~hw_models.system_specs.LinkSpec`):

* an activation from a producer to a consumer: the producer's output is spread evenly over its
  chips; every chip of the consumer needs all of it (its tiles hold whole column groups, all
  rows), so each consumer chip receives the slices held by the other producer chips. The
  transfer takes the link latency plus the busiest producer port's bytes over the bandwidth;
* partial sums of a column group cut by a chip boundary: ``cols`` outputs per cut;
* attention (``attention.mapping``) runs on the chips of its clusters and reads each K/V head
  once per generated token from the L2 of the block's chips, over which the KV cache is spread
  evenly: the share on other chips comes over the links into the attention chips' ports,
  streamed alongside the attention's own streaming (the block's attention takes the longer).

A generated token's link time is the longest path of link delays through each block's graph,
summed over the blocks, plus the hop into the LM head (an upper bound on what the links add to
the compute's own longest path; equal when one path dominates both, as in a LLaMA block).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .aimc import tile_grid
from .specs import HardwareSpec
from .system_specs import LmHeadSpec
from .workload import AttentionOp, LinearLayer, Network

#: the block graph's input
IN = "in"


@dataclass(frozen=True)
class Span:
    """A layer's tiles: the global index of its first tile and how many."""

    first: int
    tiles: int

    def chips(self, per_chip: int) -> range:
        return range(self.first // per_chip, (self.first + self.tiles - 1) // per_chip + 1)


@dataclass(frozen=True)
class Hop:
    """One transfer across chips per token: bytes over the links, the time it adds (latency +
    the busiest port) and the busiest port's busy time (what bounds a pipelined prefill)."""

    bytes: float = 0.0
    ns: float = 0.0
    port_ns: float = 0.0


NO_HOP = Hop()


def layer_tiles(layer: LinearLayer, hw: HardwareSpec) -> int:
    return math.prod(tile_grid(layer.m, layer.n, hw.aimc))


def lm_head_layer(network: Network) -> LinearLayer | None:
    """A decoder's LM head as a linear layer (hidden x vocabulary), None without a vocabulary."""
    if not network.vocab_size:
        return None
    return LinearLayer("lm_head", "other", network.hidden_size, network.vocab_size)


def layout(network: Network, hw: HardwareSpec) -> tuple[list[dict[str, Span]], Span | None]:
    """Tile spans of every block's linear layers (one dict per block, prologue layers in the
    first), and of the LM head (None unless ``lm_head.placement`` is tiles)."""
    at = sum(layer_tiles(L, hw) for L in network.prologue)
    blocks = []
    for _ in range(network.num_hidden_layers):
        spans = {}
        for node in network.block:
            if isinstance(node, LinearLayer):
                spans[node.name] = Span(at, layer_tiles(node, hw))
                at += spans[node.name].tiles
        blocks.append(spans)
    head = lm_head_layer(network)
    if head is None or hw.lm_head.placement != "tiles":
        return blocks, None
    return blocks, Span(at, layer_tiles(head, hw))


def hop(vector_bytes: float, producer: set[int], consumer: set[int], hw: HardwareSpec) -> Hop:
    """A producer's output (spread evenly over its chips) sent to every consumer chip."""
    if not producer or not consumer or producer == consumer == {min(producer)}:
        return NO_HOP
    share = vector_bytes / len(producer)
    crossing = sum(share * len(producer - {c}) for c in consumer)
    if not crossing:
        return NO_HOP
    port = share * max(len(consumer - {p}) for p in producer) / hw.link.bandwidth_gbps
    return Hop(crossing, hw.link.latency_ns + port, port)


def partial_sum_hop(layer: LinearLayer, span: Span, hw: HardwareSpec) -> Hop:
    """Partial sums of the column groups a chip boundary cuts (each ``cols`` outputs)."""
    rows, _ = tile_grid(layer.m, layer.n, hw.aimc)
    per = hw.chip.tiles_per_chip
    cuts = sum(1 for b in range((span.first // per + 1) * per, span.first + span.tiles, per)
               if (b - span.first) % rows)
    if rows < 2 or not cuts:
        return NO_HOP
    nbytes = hw.aimc.cols * hw.pmca.bytes_per_element
    port = nbytes / hw.link.bandwidth_gbps
    return Hop(cuts * nbytes, hw.link.latency_ns + port, port)


def attention_chips(op: AttentionOp, network: Network, spans: dict[str, Span],
                    hw: HardwareSpec) -> set[int]:
    """Chips whose clusters run a block's attention: those of the layers before it (upstream),
    of its Q/K/V layers (qkv), of every layer of the block (block), or of its query layer (a
    dedicated unit, assumed beside it)."""
    per = hw.chip.tiles_per_chip
    mapping = hw.attention.mapping
    if mapping == "block":
        names = list(spans)
    elif mapping == "upstream":
        names = [n.name for n in network.block[:network.block.index(op)]
                 if isinstance(n, LinearLayer)]
    elif mapping == "qkv":
        names = list(op.servers)
    else:
        names = [op.query]
    return {c for name in names if name in spans for c in spans[name].chips(per)}


@dataclass(frozen=True)
class LinkFigures:
    """What the chip links add per generated token, one entry per context (keys in the cache)."""

    ns: np.ndarray             #: time added to the token (longest path of link delays)
    bytes: np.ndarray          #: bytes over the links (activations, partial sums, K/V)
    energy_pj: np.ndarray      #: their energy
    activation_bytes: float    #: of which activations and partial sums (no K/V)
    port_ns: float             #: busiest port's busy time for one token's activations
    kv_port_ns: np.ndarray     #: busiest attention chip port's K/V busy time per token


def _out_bytes(node, network: Network, e: int) -> float:
    if node == IN:
        return network.hidden_size * e
    if isinstance(node, AttentionOp):
        return node.heads * node.head_dim * e
    return node.n * e


def _kv_hop(op: AttentionOp, attn: set[int], block: set[int], contexts: np.ndarray,
            attn_ns: np.ndarray, hw: HardwareSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time beyond the attention's own, bytes, port busy time) of the K/V read from other
    chips' L2 into the attention chips' ports."""
    share = 1.0 - len(attn & block) / len(block)
    nbytes = share * op.kv_bytes_per_token(hw.pmca.bytes_per_element) * contexts
    if not share:
        return np.zeros(len(contexts)), nbytes, np.zeros(len(contexts))
    port = nbytes / (hw.link.bandwidth_gbps * len(attn))
    return np.maximum(0.0, hw.link.latency_ns + port - attn_ns), nbytes, port


def _block_links(network: Network, spans: dict[str, Span], prev: set[int], contexts: np.ndarray,
                 attn_ns: dict[str, np.ndarray], hw: HardwareSpec):
    """(path ns per context, activation bytes, K/V bytes per context, busiest port ns, K/V
    port ns per context, output chips) of one block whose input sits on the chips ``prev``."""
    per, e = hw.chip.tiles_per_chip, hw.pmca.bytes_per_element
    block_chips = {c for s in spans.values() for c in s.chips(per)}
    nodes = {n.name: n for n in network.block}
    chips: dict[str, set[int]] = {IN: prev}
    delay: dict[str, np.ndarray] = {IN: np.zeros(len(contexts))}
    act, port, kv = 0.0, 0.0, np.zeros(len(contexts))
    kv_port = np.zeros(len(contexts))
    delivered: dict[str, set[int]] = {}
    sent: dict[str, float] = {}
    for node in network.block:
        if isinstance(node, LinearLayer):
            chips[node.name] = set(spans[node.name].chips(per))
        else:
            chips[node.name] = attention_chips(node, network, spans, hw) or prev
        arrive = np.zeros(len(contexts))
        for name in node.inputs:   # a chip that already received this output is not sent it again
            got = delivered.setdefault(name, chips[name] if len(chips[name]) == 1 else set())
            need = chips[node.name] - got
            h = hop(_out_bytes(nodes.get(name, IN), network, e), chips[name], need, hw)
            act, port = act + h.bytes, max(port, h.port_ns)
            sent[name] = max(sent.get(name, 0.0), h.ns)
            got |= chips[node.name]
            arrive = np.maximum(arrive, delay[name] + (h.ns if need else sent[name]))
        if isinstance(node, LinearLayer):
            inner = partial_sum_hop(node, spans[node.name], hw)
            act, port = act + inner.bytes, max(port, inner.port_ns)
            delay[node.name] = arrive + inner.ns
        else:
            extra, nbytes, busy = _kv_hop(node, chips[node.name], block_chips, contexts,
                                          attn_ns[node.name], hw)
            kv, kv_port = kv + nbytes, np.maximum(kv_port, busy)
            delay[node.name] = arrive + extra
    last = network.block[-1].name
    return delay[last], act, kv, port, kv_port, chips[last]


def prefill_links(network: Network, hw: HardwareSpec, seq_len: int) -> tuple[float, float]:
    """(bytes, ns) of the prompt's activations over the chip links: ``seq_len`` x the bytes per
    token, and the busiest port's busy time (if above the prefill's time, the links bound it).
    The LM head is left out: of the prompt, only its last token needs it."""
    one = dataclasses.replace(hw, tokens=1, lm_head=LmHeadSpec(placement="none"))
    figures = decode_links(network, one, np.ones(1), {op.name: np.zeros(1)
                                                      for op in network.digital_ops})
    return seq_len * figures.activation_bytes, seq_len * figures.port_ns


def decode_links(network: Network, hw: HardwareSpec, contexts: np.ndarray,
                 attn_ns: dict[str, np.ndarray]) -> LinkFigures:
    """Link time, bytes and energy per generated token at each context in ``contexts``;
    ``attn_ns``: one block's attention time per context, by attention op name."""
    per, e = hw.chip.tiles_per_chip, hw.pmca.bytes_per_element
    blocks, head = layout(network, hw)
    first = min((s.first for s in blocks[0].values()), default=0) // per if blocks else 0
    prev = {first}
    ns = np.zeros(len(contexts))
    act, port, kv = 0.0, 0.0, np.zeros(len(contexts))
    kv_port = np.zeros(len(contexts))
    for spans in blocks:
        d, a, k, p, kp, prev = _block_links(network, spans, prev, contexts, attn_ns, hw)
        ns, act, kv, port = ns + d, act + a, kv + k, max(port, p)
        kv_port = np.maximum(kv_port, kp)
    if head is not None:
        layer = lm_head_layer(network)
        assert layer is not None
        for h in (hop(network.hidden_size * e, prev, set(head.chips(per)), hw),
                  partial_sum_hop(layer, head, hw)):
            ns, act, port = ns + h.ns, act + h.bytes, max(port, h.port_ns)
    total = act + kv
    return LinkFigures(ns, total, total * 8 * hw.link.pj_per_bit, act, port, kv_port)
