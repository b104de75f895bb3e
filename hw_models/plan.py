"""A network laid out for scheduling: per node, per chunk, how long each stage takes.

Both engines (closed form, discrete-event) take the same :class:`Plan`, so they differ only in how
they schedule it: the closed form gives every stage its own server; the event simulation lets
stages that share a PMCA (attention on the pre-attention layers' clusters) contend for it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import aimc, digital, snitch
from .area import digital_mapping
from ._fields import SpecError
from .specs import HardwareSpec, LoraSpec
from .stages import (HeadCost, LayerStage, chunk_sizes, group_cost, group_heads, head_costs,
                     key_counts, kv_mode, kv_resident_bytes, layer_stage)
from .workload import AttentionOp, LinearLayer, Network


def check_run(hw: HardwareSpec, seq_len: int, rank: int | None = None) -> None:
    """Raise SpecError for a sequence length or token count the pipeline cannot run."""
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
        raise SpecError(f"seq_len: must be a positive integer, got {seq_len!r}")
    if hw.tokens > seq_len:
        raise SpecError(f"tokens: must be <= seq_len ({seq_len}), got {hw.tokens}")
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 0):
        raise SpecError(f"rank: must be an integer >= 0, got {rank!r}")


@dataclass(frozen=True)
class LinearPlan:
    """A linear layer's per-chunk stage times (ns arrays over chunks)."""

    layer: LinearLayer
    rank: int
    tile: np.ndarray      #: tile stage occupancy
    link: np.ndarray      #: readout stage (zeros when the readout is on the tile stage)
    pmca: np.ndarray      #: PMCA stage: LoRA + accumulation + L2 + post-ops
    full: LayerStage      #: the stage of a full chunk (reports)
    stages: tuple         #: LayerStage per distinct chunk size
    feed: np.ndarray | None = None  #: input transfer stage (network only; None: none)

    @property
    def name(self) -> str:
        return self.layer.name

    @functools.cached_property
    def tandem(self) -> tuple[np.ndarray, np.ndarray] | None:
        """When every stage takes the same time for every chunk (equal chunks): ``(offset,
        slope)`` such that the chunks leave the PMCA at ``offset + max.accumulate(ready - slope)``
        (FIFO servers in tandem: the stages' sum plus k times the slowest, for chunk k); else None."""
        stages = [s for s in (self.feed, self.tile, self.link, self.pmca) if s is not None]
        if any(s.size and (s != s[0]).any() for s in stages):
            return None
        firsts = [float(s[0]) if s.size else 0.0 for s in stages]
        slope = max(firsts) * np.arange(len(self.tile))
        return sum(firsts) + slope, slope


#: one attention group: (layer whose PMCAs are borrowed, or "" for dedicated clusters; units that
#: the busiest of its clusters in the group runs per query chunk)
Group = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class AttentionPlan:
    op: AttentionOp
    #: one unit of each query chunk on one cluster: ``stacked`` query heads sharing a K/V head
    #: (one head without grouped-query attention)
    head_ns: np.ndarray
    groups: tuple[Group, ...] = ((("", 1),),)  #: query chunk k runs on group k mod len(groups)
    kv_resident: bool = False      #: K and V kept in the TCDM across a cluster's query chunks
    costs: tuple[HeadCost, ...] = ()  #: one unit of each query chunk: time, traffic, energy
    stacked: int = 1               #: query heads of a K/V head one cluster takes (a unit)

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def units(self) -> int:
        """Units of a query chunk (``heads / stacked``): ``costs`` times this is the whole
        chunk's attention, and its K and V are read once per unit."""
        return self.op.heads // self.stacked

    def rounds(self, g: int) -> int:
        """Units run one after another on the busiest cluster of group g."""
        return max(h for _, h in self.groups[g])

    def cost(self, g: int) -> np.ndarray:
        """Time of each query chunk if it runs alone on group g, ns."""
        return self.rounds(g) * self.head_ns

    @property
    def borrowed(self) -> set[str]:
        """Layers whose PMCAs this attention borrows (contention with their own work)."""
        return {name for group in self.groups for name, _ in group if name}

    @property
    def kv_read_bytes(self) -> float:
        """K and V bytes one block reads from the L2 over the whole prompt: every unit of every
        query chunk its K/V head (streamed, or loaded once per group when kept)."""
        return self.units * sum(c.kv_bytes for c in self.costs)


def attention_groups(heads: int, clusters: list[str],
                     n_groups: int | None = None) -> tuple[Group, ...]:
    """Split a list of clusters (each named by the layer that owns it, "" for a dedicated one)
    into groups that each run all ``heads`` units of a query chunk (heads, or stacked query heads
    under grouped-query attention), dealt round-robin over a group's clusters. ``heads`` or more
    clusters per group (unless ``n_groups`` is given); fewer clusters than heads: one group.
    Example: 4 heads on 10 clusters -> 2 groups of 5 (the fifth idle)."""
    n_groups = n_groups or max(1, len(clusters) // heads)
    size = len(clusters) // n_groups
    groups = []
    for g in range(n_groups):
        members = clusters[g * size:(g + 1) * size]
        worst: dict[str, int] = {}
        for j, owner in enumerate(members):
            load = len(range(j, heads, size))
            if load:
                worst[owner] = max(worst.get(owner, 0), load)
        groups.append(tuple(worst.items()))
    return tuple(groups)


def mapping_clusters(op: AttentionOp, hw: HardwareSpec, block) -> list[str]:
    """The clusters that run a block's attention under ``hw.attention.mapping``, each named by
    the layer whose PMCA it is ("" for a dedicated cluster), in the order the groups take them."""
    mapping = hw.attention.mapping
    if mapping == "dedicated":
        return [""] * hw.attention.dedicated_clusters
    layers = [n for n in block if isinstance(n, LinearLayer)]
    if mapping == "upstream":
        layers = [n for n in block[:block.index(op)] if isinstance(n, LinearLayer)]
    if mapping == "qkv":
        layers = [L for L in layers if L.name in op.servers]
    out = []
    for L in layers:
        rt, ct = aimc.tile_grid(L.m, L.n, hw.aimc)
        out += [L.name] * (rt * ct)
    return out


def kv_fits(op: AttentionOp, hw: HardwareSpec, groups: tuple[Group, ...], sizes: list[int],
            reserved: dict[str, int], stacked: int = 1) -> bool:
    """Whether every cluster running this attention can keep the whole K and V of its units
    (``stacked`` query heads sharing one K/V head each) in its TCDM, beside one unit's Q, output
    and scores and what its own layer keeps there (``reserved``: the layer's LoRA working set,
    by layer name; nothing for a dedicated cluster). Encoders only: a causal decoder's keys grow
    with every chunk, and they are streamed."""
    if op.causal:
        return False
    t, s = stacked * max(sizes), sum(sizes)
    cap = hw.pmca.tcdm_kib * 1024
    return all(reserved.get(owner, 0) + kv_resident_bytes(op, hw, t, s, units) <= cap
               for group in groups for owner, units in group)


def _reserved(hw: HardwareSpec, lora: LoraSpec, block, t: int) -> dict[str, int]:
    """Each linear layer's LoRA working set in its clusters' TCDM at t tokens, by name."""
    reserved = {}
    for L in block:
        if isinstance(L, LinearLayer):
            rt, ct = aimc.tile_grid(L.m, L.n, hw.aimc)
            rank = lora.rank if L.role in lora.roles else 0
            reserved[L.name] = snitch.tcdm_bytes(t, snitch.lora_share(L.m, L.n, rt, ct), rank,
                                                 hw.pmca)
    return reserved


def _layout(op: AttentionOp, hw: HardwareSpec, clusters: list[str], sizes: list[int],
            reserved: dict[str, int], stacked: int, n_groups: int | None = None) -> AttentionPlan:
    """The attention with ``stacked`` query heads of a K/V head per unit, on the clusters in
    ``n_groups`` groups (default: as many as give every unit its own cluster)."""
    groups = attention_groups(op.heads // stacked, clusters, n_groups)
    resident = kv_fits(op, hw, groups, sizes, reserved, stacked)
    costs = attention_costs(op, hw, tuple(sizes), len(groups), resident, stacked)
    return AttentionPlan(op, np.array([c.ns for c in costs]), groups, resident, costs, stacked)


def stacking_slack(heads: int, stacked: int, size: int) -> float:
    """The least ratio, over a group's ``size`` clusters that get a unit, of the heads a cluster
    runs one by one to the units of ``stacked`` heads it runs stacked (both dealt round-robin):
    stacking never lengthens any cluster's work where a unit takes at most this many heads'
    time. Example: 32 heads on 4 clusters, 4 stacked: 8 heads or 2 units a cluster -> 4."""
    return min(len(range(j, heads, size)) / len(range(j, heads // stacked, size))
               for j in range(min(size, heads // stacked)))


def attention_plan(op: AttentionOp, hw: HardwareSpec, lora: LoraSpec, block,
                   sizes: list[int], held: dict[str, int] | None = None) -> AttentionPlan:
    """Where a block's attention runs (groups of clusters under ``hw.attention.mapping``), whether
    its K and V stay in the TCDM, and one unit's cost for each query chunk.

    Grouped-query attention: a cluster that runs several query heads sharing a K/V head stacks
    them (``stacked`` of the ``heads / kv_heads``, their queries as the rows of Q K^T,
    :func:`~hw_models.stages.group_cost`) and reads that K/V head once per chunk for all of them,
    as decode does (:mod:`hw_models.kv`); K/V traffic scales with ``heads / stacked``. The groups
    of clusters stay those of one head per unit, and the most heads are stacked (a divisor of
    the group) for which no cluster's work on any chunk grows (:func:`stacking_slack`): where
    clusters are fewer than heads they ran the heads one after another anyway; where every head
    has its own cluster and its compute bounds it (a long prompt on RedMulE), stacking would
    lengthen each chunk, and each head streams its K/V head. Without grouped-query attention a
    unit is one head.

    K and V are kept when they fit (:func:`kv_fits`, with each borrowed cluster's own LoRA working
    set at the full chunk reserved): each cluster then loads its units' K and V with its first
    query chunk and reads only Q from the L2 for the others; otherwise they are streamed from the
    L2 for every query chunk, in blocks of ``kv_block_keys`` keys. ``held``: the TCDM working
    set of the block's digital layers by name (their weights and inputs, :mod:`hw_models.digital`),
    reserved instead."""
    clusters = mapping_clusters(op, hw, block)
    reserved = _reserved(hw, lora, block, max(sizes))
    reserved.update(held or {})
    spread = _layout(op, hw, clusters, sizes, reserved, 1)
    n = len(spread.groups)
    size = len(clusters) // n
    g = group_heads(op)
    for stacked in (q for q in range(g, 1, -1) if g % q == 0):
        slack = stacking_slack(op.heads, stacked, size)
        kept = kv_fits(op, hw, attention_groups(op.heads // stacked, clusters, n), sizes,
                       reserved, stacked)
        last = group_cost(op, hw, sizes[-1], key_counts(op, sizes)[-1],
                          kv_mode(len(sizes) - 1, n, kept), stacked)
        if last.ns > slack * spread.head_ns[-1]:    # a quick test before costing every chunk
            continue
        plan = _layout(op, hw, clusters, sizes, reserved, stacked, n)
        if (plan.head_ns <= slack * spread.head_ns).all():
            return plan
    return spread


@functools.lru_cache(maxsize=64)
def attention_costs(op: AttentionOp, hw: HardwareSpec, sizes: tuple[int, ...], groups: int,
                    kv_resident: bool, stacked: int = 1) -> tuple[HeadCost, ...]:
    """:func:`~hw_models.stages.head_costs` (``stacked`` query heads per unit), memoised (a pure
    function of frozen specs): the plans with and without the adapters share one computation of a
    long causal prompt's chunks."""
    return tuple(head_costs(op, hw, list(sizes), groups, kv_resident, stacked))


def linear_plan(layer: LinearLayer, hw: HardwareSpec, rank: int, sizes: list[int],
                with_post: bool = True, network: bool = False,
                writeback: bool = False, home: digital.Home | None = None) -> LinearPlan:
    """Per-chunk stage times of a layer; ``home``: the layer is digital, its weights there
    (:func:`hw_models.digital.digital_stage`: no tile stage, the GEMM on the PMCA stage)."""
    post = layer.post_flops if with_post else 0.0
    if home is None:
        distinct = {t: layer_stage(layer.m, layer.n, hw, rank, t, post, network, writeback)
                    for t in set(sizes)}
    else:
        distinct = {t: digital.digital_stage(layer.m, layer.n, hw, rank, t, post, network,
                                             writeback, home) for t in set(sizes)}
    keys = sorted(distinct)
    per = [distinct[t] for t in keys]
    at = np.searchsorted(keys, sizes)       # each chunk's distinct size

    def times(values) -> np.ndarray:
        return np.array(values, dtype=float)[at]

    tile = times([s.tile_ns for s in per])
    link = times([0.0 if s.single_buffer else s.readout_ns for s in per])
    pmca = times([s.gemm_ns + s.pmca_ns + s.post_ns for s in per])
    feed = times([s.input_ns for s in per]) if network else None
    return LinearPlan(layer, rank, tile, link, pmca, distinct[sizes[0]],
                      tuple(distinct[t] for t in sorted(distinct)), feed)


@dataclass(frozen=True)
class Plan:
    """A network laid out for :func:`hw_models.network_latency`: the chunks' token counts, the
    prologue's layers, one encoder/decoder block's nodes and how many blocks repeat it.

    Build one with :func:`plan_network` (a whole network) or :func:`plan_layer` (one linear
    layer on its own)."""

    sizes: tuple[int, ...]
    prologue: tuple[LinearPlan, ...]
    block: tuple
    blocks: int
    #: the nodes of each block when blocks differ (digital layers in some blocks only,
    #: :mod:`hw_models.digital`); empty: every block is ``block``
    variants: tuple = ()

    @property
    def chunks(self) -> int:
        return len(self.sizes)


def build_plan(network: Network, hw: HardwareSpec, lora: LoraSpec, seq_len: int,
               sizes: list[int] | None = None) -> Plan:
    """Per-chunk stage times of every node of the network for one hardware point and adapter.

    ``sizes``: the chunks' token counts (default: seq_len in chunks of ``hw.tokens``)."""
    check_run(hw, seq_len)
    sizes = chunk_sizes(seq_len, hw.tokens) if sizes is None else sizes
    roles = lora.roles
    feeds_attention = {name for op in network.digital_ops for name in op.inputs}
    dmap = digital_mapping(network, hw, lora)

    def plan_of(layer: LinearLayer, b: int) -> LinearPlan:
        return linear_plan(layer, hw, lora.rank if layer.role in roles else 0, sizes,
                           network=True, writeback=layer.name in feeds_attention,
                           home=dmap.home(layer.name, b) if dmap else None)

    def block_of(b: int) -> tuple:
        nodes = [plan_of(n, b) for n in network.block if isinstance(n, LinearLayer)]
        held = {lp.name: int(lp.full.tcdm_bytes) for lp in nodes
                if dmap and dmap.home(lp.name, b)}
        linear = iter(nodes)
        return tuple(next(linear) if isinstance(n, LinearLayer)
                     else attention_plan(n, hw, lora, network.block, sizes, held)
                     for n in network.block)

    prologue = tuple(plan_of(L, -1) for L in network.prologue)
    blocks = network.num_hidden_layers
    if dmap is None or len({dmap.block_homes(b) for b in range(blocks)}) == 1:
        return Plan(tuple(sizes), prologue, block_of(0), blocks)
    shared: dict = {}         # blocks with the same digital layers share one node tuple
    variants = tuple(shared.get(dmap.block_homes(b)) or
                     shared.setdefault(dmap.block_homes(b), block_of(b)) for b in range(blocks))
    return Plan(tuple(sizes), prologue, variants[0], blocks, variants)


def plan_network(network: Network, hw: HardwareSpec, lora: LoraSpec, seq_len: int = 320) -> Plan:
    """The :class:`Plan` of a whole network (``seq_len`` tokens in chunks of ``hw.tokens``) for
    one hardware point and adapter; SpecError on a sequence the pipeline cannot run.

    Example::

        plan = plan_network(load_network("minilm-l6"), HardwareSpec(), LoraSpec(rank=8))
        network_latency(plan, "des")   # ns
    """
    return build_plan(network, hw, lora, seq_len)


def plan_layer(m: int, n: int, hw: HardwareSpec, rank: int, seq_len: int = 320) -> Plan:
    """The :class:`Plan` of one ``m`` x ``n`` linear layer (m inputs, n outputs) on its own,
    with a rank-``rank`` adapter (0: none), ``seq_len`` tokens in chunks of ``hw.tokens``.
    ``network_latency(plan_layer(...))`` is the layer's pipelined latency (ns); SpecError on a
    bad size, rank or sequence."""
    for name, value in (("m", m), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"{name}: must be a positive integer, got {value!r}")
    check_run(hw, seq_len, rank)
    sizes = chunk_sizes(seq_len, hw.tokens)
    layer = linear_plan(LinearLayer(f"{m}x{n}", "other", m, n), hw, rank, sizes)
    return Plan(tuple(sizes), (layer,), (), 0)
