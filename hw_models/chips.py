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
  evenly (up to their capacity; the rest is off-chip memory, read without a chip link): the
  share on other chips comes over the links into the attention chips' ports, streamed
  alongside the attention's own streaming (the block's attention takes the longer).

A generated token's link time is the longest path of link delays through each block's graph,
summed over the blocks, plus the hop into the LM head (an upper bound on what the links add to
the compute's own longest path; equal when one path dominates both, as in a LLaMA block).
"""

from __future__ import annotations

import dataclasses
import functools
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
    sizes = [(n.name, layer_tiles(n, hw)) for n in network.block if isinstance(n, LinearLayer)]
    blocks = []
    for _ in range(network.num_hidden_layers):
        spans = {}
        for name, tiles in sizes:
            spans[name] = Span(at, tiles)
            at += tiles
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


@dataclass(frozen=True)
class Route:
    """One block's transfers, which do not depend on the context: per node in block order, its
    name, the link time of each input's hop, and its own partial sums' link time or, for
    attention, (op, share of the block's K/V on other chips, attention chips, the L2 bytes of
    the block's chips)."""

    steps: tuple
    act_bytes: float       #: activations and partial sums over the links per token
    port_ns: float         #: busiest port's busy time per token


def _route(network: Network, spans: dict[str, Span], prev: set[int],
           hw: HardwareSpec) -> tuple[Route, set[int]]:
    """The route of one block whose input sits on the chips ``prev``, and its output chips."""
    per, e = hw.chip.tiles_per_chip, hw.pmca.bytes_per_element
    block_chips = {c for s in spans.values() for c in s.chips(per)}
    nodes = {n.name: n for n in network.block}
    chips: dict[str, set[int]] = {IN: prev}
    delivered: dict[str, set[int]] = {}
    sent: dict[str, float] = {}
    act, port, steps = 0.0, 0.0, []
    for node in network.block:
        if isinstance(node, LinearLayer):
            chips[node.name] = set(spans[node.name].chips(per))
        else:
            chips[node.name] = attention_chips(node, network, spans, hw) or prev
        inputs = []
        for name in node.inputs:   # a chip that already received this output is not sent it again
            got = delivered.setdefault(name, chips[name] if len(chips[name]) == 1 else set())
            need = chips[node.name] - got
            h = hop(_out_bytes(nodes.get(name, IN), network, e), chips[name], need, hw)
            act, port = act + h.bytes, max(port, h.port_ns)
            sent[name] = max(sent.get(name, 0.0), h.ns)
            got |= chips[node.name]
            inputs.append((name, h.ns if need else sent[name]))
        if isinstance(node, LinearLayer):
            inner = partial_sum_hop(node, spans[node.name], hw)
            act, port = act + inner.bytes, max(port, inner.port_ns)
            own: object = inner.ns
        else:
            attn = chips[node.name]
            l2 = sum(sp.tiles for sp in spans.values()) / per * hw.chip.l2_kib * 1024
            own = (node, 1.0 - len(attn & block_chips) / len(block_chips), len(attn), l2)
        steps.append((node.name, tuple(inputs), own))
    return Route(tuple(steps), act, port), chips[network.block[-1].name]


@functools.lru_cache(maxsize=64)
def routes(network: Network, hw: HardwareSpec) -> tuple[tuple[tuple[Route, int], ...], Hop]:
    """The distinct block routes with how many blocks take each, and the hops into the LM head
    (summed): pure, memoised (decode evaluates them for every generated token's context)."""
    per, e = hw.chip.tiles_per_chip, hw.pmca.bytes_per_element
    blocks, head = layout(network, hw)
    prev = {min((s.first for s in blocks[0].values()), default=0) // per} if blocks else {0}
    count: dict[Route, int] = {}
    seen: dict[tuple, tuple[Route, set[int]]] = {}   # blocks placed alike route alike
    for spans in blocks:
        base = min(s.first for s in spans.values()) // per
        key = (min(s.first for s in spans.values()) % per, frozenset(c - base for c in prev))
        if key not in seen:
            route, out = _route(network, spans, prev, hw)
            seen[key] = route, {c - base for c in out}
        route, out = seen[key]
        prev = {c + base for c in out}
        count[route] = count.get(route, 0) + 1
    into_head = NO_HOP
    if head is not None:
        layer = lm_head_layer(network)
        assert layer is not None
        hops = (hop(network.hidden_size * e, prev, set(head.chips(per)), hw),
                partial_sum_hop(layer, head, hw))
        into_head = Hop(sum(h.bytes for h in hops), sum(h.ns for h in hops),
                        max(h.port_ns for h in hops))
    return tuple(count.items()), into_head


def _walk(route: Route, contexts: np.ndarray, attn_ns: dict[str, np.ndarray],
          hw: HardwareSpec, batch: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(longest path of link delays, K/V bytes over the links, K/V port busy time) of one block
    per context, for one of ``batch`` sequences (its 1 / batch share of the L2 holds its
    cache's first tokens). K/V from other chips' L2 stream into the attention chips' ports
    alongside the attention's own streaming: only their excess over the attention's time is on
    the path."""
    zero = np.zeros(len(contexts))
    delay: dict[str, np.ndarray] = {IN: zero}
    kv, kv_port = zero, zero
    for name, inputs, own in route.steps:
        arrive = zero
        for src, ns in inputs:
            arrive = np.maximum(arrive, delay[src] + ns)
        if not isinstance(own, tuple):
            delay[name] = arrive + own
            continue
        op, share, n_attn, l2 = own
        cached = np.minimum(op.kv_bytes_per_token(hw.pmca.bytes_per_element) * contexts,
                            l2 / batch)
        nbytes = share * cached
        port = nbytes / (hw.link.bandwidth_gbps * n_attn)
        extra = np.maximum(0.0, hw.link.latency_ns + port - attn_ns[name]) if share else zero
        delay[name] = arrive + extra
        kv, kv_port = kv + nbytes, np.maximum(kv_port, port)
    return delay[route.steps[-1][0]], kv, kv_port


def prefill_links(network: Network, hw: HardwareSpec, seq_len: int) -> tuple[float, float]:
    """(bytes, ns) of the prompt's activations over the chip links: ``seq_len`` x the bytes per
    token, and the busiest port's busy time (if above the prefill's time, the links bound it).
    The LM head is left out: of the prompt, only its last token needs it."""
    one = dataclasses.replace(hw, tokens=1, lm_head=LmHeadSpec(placement="none"))
    figures = decode_links(network, one, np.ones(1), {op.name: np.zeros(1)
                                                      for op in network.digital_ops})
    return seq_len * figures.activation_bytes, seq_len * figures.port_ns


def decode_links(network: Network, hw: HardwareSpec, contexts: np.ndarray,
                 attn_ns: dict[str, np.ndarray], batch: int = 1) -> LinkFigures:
    """Link time, bytes and energy per generated token of one sequence at each context in
    ``contexts``, with ``batch`` sequences' caches sharing the L2; ``attn_ns``: one block's
    attention time per context, by attention op name."""
    distinct, into_head = routes(network, hw)
    ns = np.full(len(contexts), into_head.ns)
    act, port = into_head.bytes, into_head.port_ns
    kv, kv_port = np.zeros(len(contexts)), np.zeros(len(contexts))
    for route, n in distinct:
        d, k, kp = _walk(route, np.asarray(contexts, float), attn_ns, hw, batch)
        ns, kv, kv_port = ns + n * d, kv + n * k, np.maximum(kv_port, kp)
        act, port = act + n * route.act_bytes, max(port, route.port_ns)
    total = act + kv
    return LinkFigures(ns, total, total * 8 * hw.link.pj_per_bit, act, port, kv_port)
