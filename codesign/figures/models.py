"""The paper's figure types from the hardware model (fig. 4a, 4b, 4c), as data (no drawing).

These call :mod:`hw_models` (closed-form layer model and the network evaluation) for a given
hardware point, usually the study's fixed hardware or the picked configuration:

* :func:`tokens_sweep_data`: per-chunk AIMC and PMCA latency of one layer against the parallel
  tokens t, at several integration times (fig. 4a: 512 x 128 at 128 / 256 / 512 ns), with the
  t that minimises the pipelined latency and the PMCA/AIMC ratio there;
* :func:`tcdm_data`: the PMCA TCDM working set against t for a few layer shapes (fig. 4b);
* :func:`layer_latency_data`: latency of each distinct layer of a network with and without the
  adapters (fig. 4c).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Sequence

#: the paper's integration times and the layer of fig. 4a
PAPER_INTEGRATION_NS = (128.0, 256.0, 512.0)
PAPER_LAYER = (512, 128)
#: MobileBERT's two layer shapes of fig. 4b
PAPER_TCDM_LAYERS = ((128, 128), (512, 128))
TOKENS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _with_integration(hw, integration_ns: float):
    return dataclasses.replace(hw, aimc=dataclasses.replace(hw.aimc, integration_ns=integration_ns))


def _with_tokens(hw, tokens: int):
    return dataclasses.replace(hw, tokens=tokens)


@dataclass
class TokensCurve:
    integration_ns: float
    aimc_ns: list[float]
    pmca_ns: list[float]
    total_ns: list[float]
    aimc_only_ns: list[float]
    best_tokens: int = 0        # the t with the smallest pipelined latency
    best_ratio: float = 0.0     # pmca_ns / aimc_ns at best_tokens
    best_overhead: float = 0.0  # total_ns / aimc_only_ns at best_tokens


@dataclass
class TokensSweepData:
    m: int
    n: int
    rank: int
    seq_len: int
    tokens: list[int]
    curves: list[TokensCurve] = field(default_factory=list)


def tokens_sweep_data(hw, rank: int = 8, layer: tuple[int, int] = PAPER_LAYER,
                      integration_ns: Sequence[float] = PAPER_INTEGRATION_NS,
                      tokens: Sequence[int] = TOKENS, seq_len: int = 320) -> TokensSweepData:
    """Fig. 4a: AIMC and PMCA time of one chunk of t tokens (closed-form layer model)."""
    import hw_models

    m, n = layer
    tokens = [t for t in tokens if t <= seq_len] or [seq_len]
    data = TokensSweepData(m, n, rank, seq_len, list(tokens))
    for t_int in integration_ns:
        curve = TokensCurve(float(t_int), [], [], [], [])
        for t in tokens:
            r = hw_models.layer_closed_form(m, n, _with_tokens(_with_integration(hw, t_int), t),
                                            rank, seq_len=seq_len)
            curve.aimc_ns.append(float(r.aimc_ns))
            curve.pmca_ns.append(float(r.pmca_ns))
            curve.total_ns.append(float(r.total_ns))
            curve.aimc_only_ns.append(float(r.aimc_only_ns))
        i = min(range(len(tokens)), key=lambda k: (curve.total_ns[k], tokens[k]))
        curve.best_tokens = tokens[i]
        curve.best_ratio = curve.pmca_ns[i] / curve.aimc_ns[i] if curve.aimc_ns[i] else float("nan")
        curve.best_overhead = (curve.total_ns[i] / curve.aimc_only_ns[i]
                               if curve.aimc_only_ns[i] else float("nan"))
        data.curves.append(curve)
    return data


@dataclass
class TcdmData:
    rank: int
    tokens: list[int]
    layers: list[tuple[int, int]]
    kib: list[list[float]]      # per layer, per t: peak PMCA working set in KiB
    capacity_kib: float


def tcdm_data(hw, rank: int = 8, layers: Sequence[tuple[int, int]] = PAPER_TCDM_LAYERS,
              tokens: Sequence[int] = TOKENS, seq_len: int = 320) -> TcdmData:
    """Fig. 4b: the TCDM needed for inputs and low-rank updates against t, per layer shape."""
    import hw_models

    tokens = [t for t in tokens if t <= seq_len] or [seq_len]
    kib = []
    for m, n in layers:
        kib.append([float(hw_models.layer_closed_form(m, n, _with_tokens(hw, t), rank,
                                                      seq_len=seq_len).tcdm_bytes) / 1024
                    for t in tokens])
    return TcdmData(rank, list(tokens), [(m, n) for m, n in layers], kib,
                    float(hw.pmca.tcdm_kib))


@dataclass
class LayerLatencyData:
    """Fig. 4c: each distinct layer of a network, with and without LoRA.

    Times are per layer instance for the whole sequence (ns); ``count`` says how many identical
    copies of that layer the network has (one per transformer block).
    """

    network: str
    labels: list[str]
    with_lora_ns: list[float]
    without_lora_ns: list[float]
    counts: list[int]
    total_ns: float
    aimc_only_ns: float
    rank: int = 0
    placement: str = ""
    integration_ns: float = 0.0
    tokens: int = 0

    @property
    def overhead(self) -> float:
        return self.total_ns / self.aimc_only_ns if self.aimc_only_ns else float("nan")


def layer_latency_data(network_name: str, hw, lora, seq_len: int) -> LayerLatencyData:
    """Every layer of the network's report (hw_models lists each distinct layer once, with the
    number of identical copies as ``count``), in network order."""
    from codesign.evaluators import network

    import hw_models

    report = hw_models.evaluate_network(network(network_name), hw, lora, seq_len=seq_len)
    labels, with_lora, without, counts = [], [], [], []
    for layer in report.layers:
        labels.append(f"{layer.name} ({layer.m}x{layer.n})")
        with_lora.append(float(layer.total_ns))
        without.append(float(layer.aimc_only_ns))
        counts.append(int(getattr(layer, "count", 1)))
    placement = lora.placement if isinstance(lora.placement, str) else "+".join(lora.placement)
    return LayerLatencyData(network_name, labels, with_lora, without, counts,
                            float(report.total_ns), float(report.aimc_only_ns), lora.rank,
                            placement, float(hw.aimc.integration_ns), int(hw.tokens))
