"""A decoder's LM head (hidden x vocabulary, once per generated token) and embedding lookup.

``lm_head.placement`` (:class:`~hw_models.system_specs.LmHeadSpec`):

* ``tiles``: the head's weights on their own AIMC tiles after the last block (LLaMA-3.1-8B:
  4096 x 128,256 on 512 x 512 tiles = 8 x 251 = 2,008 tiles, 32 more chips of 64); one MVM per
  token with its readout, partial sums and an argmax over the vocabulary on the PMCAs;
* ``digital``: the weights in the off-chip memory (``hardware.offchip``, the DRAM that holds the
  KV cache beyond the L2), streamed every token, the GEMV on the PMCA clusters of one chip
  (``chip.tiles_per_chip`` of them), the slower of the two;
* ``none``: not costed.

The embedding table stays in that memory: each generated token reads one row (hidden x
``pmca.bytes_per_element`` bytes). Those reads share the off-chip devices with the KV cache
(``memory_bytes``, one more load on :mod:`hw_models.decode_system`'s off-chip stage). Times in
ns, energy in pJ.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from . import area, offchip, snitch
from .chips import layer_tiles, lm_head_layer
from .specs import HardwareSpec
from .stages import layer_stage
from .workload import Network

#: FLOP per vocabulary entry of the argmax (a compare) after the LM head
ARGMAX_FLOPS = 1.0


@dataclass(frozen=True)
class HeadCost:
    """The LM head and the embedding read of one generated token."""

    ns: float           #: on the token's path: embedding read + LM head
    busy_ns: float      #: occupancy of the head's tiles or clusters per token (batched decode;
    #: its off-chip reads, memory_bytes, load the off-chip memory's stage instead)
    energy_pj: float
    tiles: int          #: AIMC tiles of the head (placement tiles), else 0
    memory_bytes: float = 0.0   #: read from the off-chip memory per token (embedding row, and
    #: a digital head's weights)


NO_HEAD = HeadCost(0.0, 0.0, 0.0, 0)


def memory_read(nbytes: float, hw: HardwareSpec) -> tuple[float, float]:
    """(time, energy) of reading ``nbytes`` from the off-chip memory (``hardware.offchip``: its
    latency, summed bandwidth and pJ/bit)."""
    return offchip.read_ns(nbytes, hw.offchip), nbytes * offchip.pj_per_byte(hw.offchip)


def _on_tiles(network: Network, hw: HardwareSpec) -> HeadCost:
    layer = lm_head_layer(network)
    assert layer is not None
    s = layer_stage(layer.m, layer.n, hw, 0, 1, ARGMAX_FLOPS * layer.n, True)
    ns = s.input_ns + s.tile_ns + (0.0 if s.single_buffer else s.readout_ns) + s.pmca_ns \
        + s.post_ns
    busy = max(s.input_ns, s.tile_ns, s.pmca_ns + s.post_ns)
    return HeadCost(ns, busy, s.energy_pj, layer_tiles(layer, hw))


def _digital(network: Network, hw: HardwareSpec) -> HeadCost:
    p = hw.pmca
    h, vocab = network.hidden_size, network.vocab_size
    weights = h * vocab * p.bytes_per_element
    mem_ns, mem_pj = memory_read(weights, hw)
    clusters = hw.chip.tiles_per_chip
    cols = math.ceil(vocab / clusters)
    compute_ns = snitch.gemm_cycles(1, h, cols, p) / p.clock_ghz
    pj = clusters * snitch.compute_pj(snitch.gemm_padded_macs(1, h, cols, p),
                                      2 * snitch.gemm_core_macs(1, h, cols, p)
                                      + ARGMAX_FLOPS * cols, p)
    return HeadCost(max(mem_ns, compute_ns), compute_ns, mem_pj + pj, 0, weights)


def head_cost(network: Network, hw: HardwareSpec) -> HeadCost:
    """The LM head and embedding read per generated token (NO_HEAD without a vocabulary or
    with ``lm_head.placement = none``)."""
    if lm_head_layer(network) is None or hw.lm_head.placement == "none":
        return NO_HEAD
    row = network.hidden_size * hw.pmca.bytes_per_element
    emb_ns, emb_pj = memory_read(row, hw)
    head = _on_tiles(network, hw) if hw.lm_head.placement == "tiles" else _digital(network, hw)
    return dataclasses.replace(head, ns=head.ns + emb_ns, energy_pj=head.energy_pj + emb_pj,
                               memory_bytes=head.memory_bytes + row)


def decode_size(network: Network, hw: HardwareSpec, head_tiles: int) -> tuple[int, int, float]:
    """(tiles, chips, leakage power in mW) of the network and the LM head's tiles."""
    tiles = area.network_tiles(network, hw) + head_tiles
    extra = area.dedicated_clusters(network, hw)
    parts = area.area_breakdown_mm2(tiles, hw, extra)
    return tiles, area.chips_needed(tiles, hw), area.static_power_mw(parts, tiles, hw,
                                                                     tiles + extra)
