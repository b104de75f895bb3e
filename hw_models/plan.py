"""A network laid out for scheduling: per node, per chunk, how long each stage takes.

Both engines (closed form, discrete-event) take the same :class:`Plan`, so they differ only in how
they schedule it: the closed form gives every stage its own server; the event simulation lets
stages that share a PMCA (attention on the pre-attention layers' clusters) contend for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._fields import SpecError
from .specs import HardwareSpec, LoraSpec
from .stages import LayerStage, attention_ns, chunk_sizes, layer_stage
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

    @property
    def name(self) -> str:
        return self.layer.name


@dataclass(frozen=True)
class AttentionPlan:
    op: AttentionOp
    cost: np.ndarray      #: per query chunk, on one PMCA

    @property
    def name(self) -> str:
        return self.op.name


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    prologue: tuple[LinearPlan, ...]
    block: tuple
    blocks: int

    @property
    def chunks(self) -> int:
        return len(self.sizes)


def linear_plan(layer: LinearLayer, hw: HardwareSpec, rank: int, sizes: list[int],
                with_post: bool = True) -> LinearPlan:
    post = layer.post_flops if with_post else 0.0
    distinct = {t: layer_stage(layer.m, layer.n, hw, rank, t, post) for t in set(sizes)}
    per = [distinct[t] for t in sizes]
    tile = np.array([s.tile_ns for s in per])
    link = np.array([0.0 if s.single_buffer else s.readout_ns for s in per])
    pmca = np.array([s.pmca_ns + s.post_ns for s in per])
    return LinearPlan(layer, rank, tile, link, pmca, distinct[sizes[0]],
                      tuple(distinct[t] for t in sorted(distinct)))


def build_plan(network: Network, hw: HardwareSpec, lora: LoraSpec, seq_len: int) -> Plan:
    """Per-chunk stage times of every node of the network for one hardware point and adapter."""
    check_run(hw, seq_len)
    sizes = chunk_sizes(seq_len, hw.tokens)
    roles = lora.roles

    def rank_of(layer: LinearLayer) -> int:
        return lora.rank if layer.role in roles else 0

    prologue = tuple(linear_plan(L, hw, rank_of(L), sizes) for L in network.prologue)
    block = []
    for node in network.block:
        if isinstance(node, LinearLayer):
            block.append(linear_plan(node, hw, rank_of(node), sizes))
        else:
            block.append(AttentionPlan(node, attention_ns(node, hw, sizes)))
    return Plan(tuple(sizes), prologue, tuple(block), network.num_hidden_layers)
