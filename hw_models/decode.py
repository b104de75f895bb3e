"""Autoregressive generation: time per output token, KV cache, and the adapters' cost in decode.

After the prompt (``prompt_len`` tokens, the pipelined prefill of :func:`~hw_models.evaluate_network`)
a decoder generates one token at a time: token i needs token i-1's output, so the token pipeline
degenerates to chunks of t = 1 that cross the whole network one after another. Each generated
token is one MVM per tile, the PMCAs' LoRA job for one token (its fixed offload cost no longer
amortised over t tokens) and, per block, attention of one query per head over the whole KV
cache (:mod:`hw_models.kv`: each K/V head read once for its group of query heads, split over the
idle clusters, from the L2 of the block's chips at their shared bandwidth and, beyond it, from
off-chip memory; ``batch`` sequences' caches share that L2, each getting ``1 / batch`` of it).

With one chunk in flight nothing contends (every stage serves one job, in dependency order), so the
closed form is exact here. A token's latency is then the longest path through the network; every
path to a block's output crosses its attention, so it is ``L0 + blocks * attention(s)`` with ``s``
the keys in the cache (:func:`decode_report` evaluates it per generated token). The chip links
(:mod:`hw_models.chips`), the LM head and the embedding read (:mod:`hw_models.lm_head`) add to
that path; with ``batch`` sequences in flight, :mod:`hw_models.throughput` turns it into each
sequence's time per token and the tokens/s of all of them (:mod:`hw_models.decode_system`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from . import area, offchip
from ._fields import SpecError
from .aimc import tile_grid
from .closed_form import block_closed_form, run_blocks
from .plan import AttentionPlan, Plan, build_plan
from .reports import _plain
from .kv import network_attention
from .specs import HardwareSpec, LoraSpec
from .workload import LinearLayer, Network

#: keys of the decode figures added to ``codesign latency --json`` by ``--generate``
DECODE_KEYS = ("decode_ns_per_token", "decode_aimc_only_ns_per_token", "kv_cache_bytes",
               "decode_kv_read_bytes_per_token", "kv_cache_offchip_bytes")


@dataclass(frozen=True)
class DecodeReport:
    """Generation of ``generate`` tokens after a ``prompt_len``-token prompt. Times in ns, memory in
    bytes, energy in pJ; per-token figures are means over the generated tokens."""

    prompt_len: int
    generate: int
    decode_ns_per_token: float             #: mean time per generated token of a sequence, with
    #: the adapters, chip links and LM head (at ``batch`` sequences in flight)
    decode_aimc_only_ns_per_token: float   #: the same without adapters
    decode_overhead: float                 #: their ratio: the adapters' price in decode
    tokens_per_s: float                    #: batch x 1e9 / decode_ns_per_token: all sequences
    attention_ns_per_token: float          #: of which attention over the KV cache (all blocks)
    kv_cache_bytes: int                    #: K and V of every block at the last token
    kv_cache_bytes_per_block: int          #: the share of one block, in the L2 of its clusters
    kv_cache_fits_l2: bool                 #: one sequence's share fits its part of the L2 of
    #: the chips holding that block's tiles (chip.l2_kib per chip of chip.tiles_per_chip tiles,
    #: divided over the batch's sequences); if not, the rest is off chip
    decode_energy_pj_per_token: float      #: dynamic (tiles, PMCAs, transfers, attention) and
    #: static (the network's leakage power over the token's time), per token
    decode_kv_read_bytes_per_token: float = 0.0  #: K and V read per token (each K/V head once,
    #: all blocks; mean over the generated tokens)
    kv_cache_offchip_bytes: int = 0        #: of one sequence's KV cache at the last token, in
    #: off-chip memory (hardware.offchip), all blocks: per sequence, at this batch (each
    #: sequence has 1 / batch of the L2); the batch holds batch x this off chip
    kv_cache_fits_offchip: bool = True     #: the batch's off-chip parts fit its capacity
    decode_attention_splits: int = 1       #: clusters per K/V head at the last token (split-K)
    # systems figures (hw_models.decode_system): chip links, LM head, batch. With batch B the
    # per-token time, tokens_per_s and energy above are at B; the energy includes the links'
    # and LM head's, and the leakage (of the LM head's tiles too) shared over the batch
    batch: int = 1                                 #: sequences decoding together
    decode_static_energy_pj_per_token: float = 0.0  #: leakage share of decode_energy_pj_per_token
    decode_interchip_ns_per_token: float = 0.0     #: time the chip links add to a token
    decode_interchip_bytes_per_token: float = 0.0  #: bytes over chip links per token
    lm_head_ns_per_token: float = 0.0              #: LM head + embedding read per token
    lm_head_tiles: int = 0                         #: tiles of the LM head (placement tiles)
    decode_chips: int = 0                          #: chips of the network and the LM head
    single_ns_per_token: float = 0.0               #: T1: a sequence's time per token with
    #: no other sequence in its way, its cache placed as at this batch (L2 share, off chip)
    saturation_batch: int = 1                      #: batch from which tokens/s stops growing
    saturation_resource: str = ""                  #: the stage that saturates there
    batch_kv_fits_l2: bool = True                  #: the batch's KV caches (batch x
    #: kv_cache_bytes_per_block) fit the L2 of a block's chips; if not, each sequence spills
    #: what exceeds its 1 / batch share off chip (kv_cache_offchip_bytes), timed and costed there

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _token_latency(network: Network, hw: HardwareSpec, lora: LoraSpec) -> tuple[float, Plan]:
    """Latency of one token through the network with free attention (L0), and its plan."""
    plan = build_plan(network, hw, lora, 1, sizes=[1])
    free = tuple(dataclasses.replace(n, head_ns=np.zeros(1)) if isinstance(n, AttentionPlan)
                 else n for n in plan.block)
    out, _ = run_blocks(dataclasses.replace(plan, block=free), block_closed_form)
    return float(out[-1]), plan


def decode_report(network: Network, hw: HardwareSpec, lora: LoraSpec, prompt_len: int,
                  generate: int, batch: int = 1) -> DecodeReport:
    """Time per generated token (with and without adapters), tokens/s, KV cache and energy, for
    ``batch`` sequences decoding together (:mod:`hw_models.throughput`)."""
    for name, value, low in (("seq_len", prompt_len, 1), ("generate", generate, 1),
                             ("batch", batch, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SpecError(f"{name}: must be an integer >= {low}, got {value!r}")
    if hw.digital.active:
        raise SpecError("digital.layers: generation (decode) with digital layers is not "
                        "modelled yet; use none, or prefill only (generate 0)")
    if not any(op.causal for op in network.digital_ops):
        raise SpecError(f"generate: network {network.name!r} is an encoder (no causal "
                        f"attention); generation needs a decoder such as llama-3.1-8b")
    one = dataclasses.replace(hw, tokens=1)
    contexts = np.arange(prompt_len + 1, prompt_len + generate + 1)
    base, plan = _token_latency(network, one, lora)
    base0, _ = _token_latency(network, one, LoraSpec(rank=0, placement="none"))
    block_tiles = sum(math.prod(tile_grid(L.m, L.n, hw.aimc)) for L in network.block
                      if isinstance(L, LinearLayer))
    attn = network_attention(network, one, contexts, block_tiles / hw.chip.tiles_per_chip, batch)
    attn_ns, attn_pj = attn.ns, attn.energy_pj
    with_lora = base + attn_ns.mean()
    without = base0 + attn_ns.mean()
    layers_pj = sum(lp.full.energy_pj * lp.layer.count for lp in (*plan.prologue, *plan.block)
                    if not isinstance(lp, AttentionPlan))
    e = hw.pmca.bytes_per_element
    per_block = max(op.kv_bytes_per_token(e) for op in network.digital_ops) * int(contexts[-1])
    kv = sum(op.kv_bytes_per_token(e) * op.count for op in network.digital_ops) * int(contexts[-1])
    l2_bytes = block_tiles / hw.chip.tiles_per_chip * hw.chip.l2_kib * 1024
    leak_mw = area.network_size(network, hw)[3]
    report = DecodeReport(
        prompt_len=prompt_len, generate=generate, decode_ns_per_token=float(with_lora),
        decode_aimc_only_ns_per_token=float(without), decode_overhead=float(with_lora / without),
        tokens_per_s=float(1e9 / with_lora), attention_ns_per_token=float(attn_ns.mean()),
        kv_cache_bytes=int(kv), kv_cache_bytes_per_block=int(per_block),
        kv_cache_fits_l2=bool(per_block <= l2_bytes / batch),
        decode_energy_pj_per_token=float(layers_pj + attn_pj.mean() + leak_mw * with_lora),
        decode_kv_read_bytes_per_token=float(attn.kv_bytes.mean()),
        kv_cache_offchip_bytes=int(round(attn.offchip_bytes[-1])),
        kv_cache_fits_offchip=bool(batch * attn.offchip_bytes[-1]
                                   <= offchip.capacity_bytes(hw.offchip)),
        decode_attention_splits=attn.splits)
    from .decode_system import memory_stages, with_system   # links, LM head, batch

    return with_system(report, network, one, plan, contexts, (base, base0), attn_ns,
                       layers_pj + attn_pj.mean(), batch, memory_stages(network, hw, attn))
