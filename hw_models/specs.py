"""Hardware and LoRA parameters: nested dataclasses, every field with meaning, unit and range.

Defaults are the AHWA-LoRA paper's setting (Li et al. 2026, ../shared/paper-notes.md sections 2 and 5)
unless a field's help names another source. Calibrated constants say where their value comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ._fields import spec_field, validate


@dataclass(frozen=True)
class AimcTileSpec:
    """One analog PCM crossbar tile and its converters."""

    rows: int = spec_field(512, help="crossbar rows: inputs per tile (paper: 512 x 512 unit cells)",
                           unit="cells", ge=1)
    cols: int = spec_field(512, help="crossbar columns: outputs per tile", unit="cells", ge=1)
    integration_ns: float = spec_field(
        256.0, help="integration time of one MVM (one token through the tile); paper: 128, 256, 512",
        unit="ns", gt=0)
    adc_bits: int = spec_field(8, help="ADC resolution of the tile outputs (paper: 8)", unit="bit",
                               ge=1, le=16)
    dac_bits: int = spec_field(8, help="DAC resolution of the tile inputs (paper: 8)", unit="bit",
                               ge=1, le=16)
    adc_ns_per_bit: float = spec_field(
        0.0, help="extra conversion time per ADC bit above 8, added to each MVM (0: the conversion "
                  "is hidden in the integration time, as the paper assumes)", unit="ns/bit", ge=0)
    mvm_energy_pj: float = spec_field(
        26.9, help="energy of one full-tile MVM at 8-bit I/O. From HERMES (Le Gallo et al. 2023): "
                   "9.76 TOPS/W at 8 bit -> 2*256*256 ops / 9.76e12 ops/J = 13.4 pJ per 256x256 "
                   "core; scaled by area to a 512x512 tile is 53.7 pJ, halved for one-phase "
                   "read as in the paper's 133 ns figure", unit="pJ", ge=0)
    dac_ns_per_bit: float = spec_field(
        0.0, help="extra input-encoding time per DAC bit above 8 (PWM inputs: 0 keeps the paper's "
                  "assumption that the integration time already covers 8-bit inputs)",
        unit="ns/bit", ge=0)
    adc_energy_scale_per_bit: float = spec_field(
        2.0, help="factor by which converter energy grows per extra bit (SAR/ramp ADC: x2 per bit)",
        unit="x/bit", ge=1)
    converter_energy_share: float = spec_field(
        0.5, help="share of the 8-bit MVM energy spent in the ADCs/DACs (the part that scales with "
                  "bits). Assumption: HERMES (Le Gallo et al. 2023) reports the converters and "
                  "periphery as the dominant share; 0.5 is ours, documented, not a fit",
        unit="fraction", ge=0, le=1)
    output_buffers: int = spec_field(
        1, help="output latches of the tile: with 1 the next chunk's integration waits until the "
                "previous chunk's outputs have been read out into the PMCA TCDM, so the readout is "
                "on the tile's critical path (calibrated: this reproduces the paper's 1.05x at "
                "512 ns, Li et al. 2026; 2 would hide the readout)", unit="buffers", ge=1, le=2)


@dataclass(frozen=True)
class PmcaSpec:
    """The programmable multi-core accelerator beside each tile: Snitch cluster + RedMule."""

    clock_ghz: float = spec_field(1.0, help="cluster clock (Snitch cluster: 1 GHz)", unit="GHz",
                                  ge=0.01, le=10)
    compute_cores: int = spec_field(8, help="Snitch compute cores (plus one DMA core)", unit="cores",
                                    ge=1, le=1024)
    simd_fp16: int = spec_field(4, help="FP16 lanes of each core's 64-bit SIMD FPU", unit="lanes",
                                ge=1, le=64)
    core_utilisation: float = spec_field(
        0.9, help="FPU utilisation of the cores on dense work with FREP/SSR (paper: up to ~90 %)",
        unit="fraction", gt=0, le=1)
    redmule_fma: int = spec_field(
        32, help="RedMule FMA blocks (computing elements), a multiple of redmule_height; 0 = no "
                 "RedMule, the cores do the GEMMs (Tortorella et al. 2022: 32 = 8 rows x 4)",
        unit="FMA", ge=0, le=4096)
    redmule_height: int = spec_field(
        4, help="RedMule CEs per row (the array is (redmule_fma / height) rows x height; "
                "RedMulE RTL default Height = 4)", unit="CE", ge=1, le=256)
    redmule_pipe_regs: int = spec_field(
        3, help="pipeline registers per RedMule CE: one output tile is rows x height*(P+1) "
                "elements of Z (RedMulE RTL default NumPipeRegs = 3)", unit="stages", ge=0, le=64)
    redmule_efficiency: float = spec_field(
        0.988, help="RedMule steady-state MACs per FMA per cycle inside a tile (31.6 MAC/cycle with "
                    "32 FMAs, Tortorella et al. 2022)", unit="fraction", gt=0, le=1)
    redmule_tile_cycles: float = spec_field(
        32.0, help="fill/drain cycles per RedMule output tile (loading the W/X buffers, emptying "
                   "the pipeline). Calibrated: least-squares fit to the paper's three 512x128 "
                   "PMCA/AIMC ratios 2.57/1.29/0.70 (benchmarks/calibration.py)",
        unit="cycles", ge=0, le=1e6)
    offload_cycles: float = spec_field(
        246.0, help="fixed cycles per chunk to start the LoRA job: program RedMule, trigger, wait "
                    "for its event, cluster barrier. Calibrated with redmule_tile_cycles to the "
                    "paper's 512x128 ratios (benchmarks/calibration.py)", unit="cycles", ge=0, le=1e9)
    tcdm_kib: int = spec_field(128, help="tightly coupled data memory (L1) of the cluster "
                                         "(Snitch cluster / paper: 128 KiB)", unit="KiB", ge=1,
                         le=1 << 20)
    dma_bytes_per_cycle: float = spec_field(64.0, help="cluster DMA bandwidth (Snitch: 64 B/cycle, "
                                                       "512-bit AXI)", unit="B/cycle", ge=0.01, le=4096)
    link_bytes_per_cycle: float = spec_field(
        16.0, help="AIMC tile -> PMCA TCDM readout bandwidth (a 128-bit port). Calibrated: with "
                   "output_buffers = 1 it sets the paper's 1.05x overhead at 512 ns for 512x128 "
                   "(and predicts the ~4 % best case of the smaller layers)",
        unit="B/cycle", ge=0.01, le=4096)
    l2_bytes_per_cycle: float = spec_field(
        16.0, help="bandwidth to the L2/SRAM behind the cluster when the working set overflows TCDM "
                   "(assumption: one 128-bit port)", unit="B/cycle", ge=0.01, le=4096)
    bytes_per_element: int = spec_field(2, help="activation/adapter element size (FP16)",
                                        unit="B", choices=(1, 2, 4))
    redmule_pj_per_mac: float = spec_field(
        2.91, help="RedMule energy per (padded) FP16 MAC: 688 GFLOPS/W (Tortorella et al. 2022) "
                   "-> 1.45 pJ/FLOP, 2 FLOP per MAC", unit="pJ", ge=0, le=1e6)
    core_pj_per_flop: float = spec_field(
        2.5, help="Snitch core energy per FP16 FLOP: ~100 GFLOPS/W FP64 for the Snitch cluster "
                  "(Zaruba et al. 2021) -> 10 pJ/FLOP FP64, / 4 SIMD lanes for FP16 (derivation)",
        unit="pJ", ge=0, le=1e6)
    tcdm_pj_per_byte: float = spec_field(
        1.25, help="TCDM (SRAM bank) access energy: 10 pJ per 64-bit read of an 8 KiB SRAM, "
                   "45 nm (Horowitz, ISSCC 2014), not scaled (conservative)", unit="pJ/B", ge=0, le=1e6)
    l2_pj_per_byte: float = spec_field(
        12.5, help="L2 SRAM access energy: 100 pJ per 64-bit read of a 1 MiB SRAM, 45 nm "
                   "(Horowitz, ISSCC 2014), not scaled", unit="pJ/B", ge=0, le=1e6)
    link_pj_per_byte: float = spec_field(
        2.0, help="on-chip transfer energy (tile -> TCDM, DMA): ~0.25 pJ/bit/mm over ~1 mm of wire "
                  "(Horowitz, ISSCC 2014: 64-bit over 1 mm ~ 15-20 pJ at 45 nm)", unit="pJ/B",
        ge=0, le=1e6)

    def __post_init__(self) -> None:
        validate(self)
        if self.redmule_fma and self.redmule_fma % self.redmule_height:
            from ._fields import SpecError
            raise SpecError(f"pmca.redmule_fma: must be 0 or a multiple of redmule_height "
                            f"({self.redmule_height}); got {self.redmule_fma}")


@dataclass(frozen=True)
class HardwareSpec:
    """One AIMC tile + PMCA pair, replicated for every tile of the network, and the token pipeline."""

    aimc: AimcTileSpec = field(default_factory=AimcTileSpec,
                               metadata={"help": "the analog tile"})
    pmca: PmcaSpec = field(default_factory=PmcaSpec, metadata={"help": "the digital co-processor"})
    tokens: int = spec_field(8, help="parallel tokens t per pipeline chunk (paper: 8..128)",
                             unit="tokens", ge=1, le=4096)

    def __post_init__(self) -> None:
        validate(self)


#: LoRA placement names and the linear-layer roles they select. A network's layers carry one of
#: these roles (hw_models.workload); the accuracy code maps the same roles to module names.
ROLES = ("query", "key", "value", "attn_out", "ffn_in", "ffn_out", "other")
PLACEMENTS: dict[str, frozenset[str]] = {
    "all": frozenset(ROLES),
    "qkv": frozenset({"query", "key", "value"}),
    "attention": frozenset({"query", "key", "value", "attn_out"}),
    "attn_out": frozenset({"attn_out"}),
    "ffn": frozenset({"ffn_in", "ffn_out"}),
    "none": frozenset(),
}


@dataclass(frozen=True)
class LoraSpec:
    """The digital low-rank adapter beside every selected analog layer."""

    rank: int = spec_field(8, help="LoRA rank r (0 = no adapter); paper: 1, 2, 4, 8, 16", unit="",
                           ge=0, le=4096)
    placement: Union[str, tuple] = spec_field(
        "all", help="which linear layers carry an adapter: " + ", ".join(PLACEMENTS)
                    + ", or a list of roles (" + ", ".join(ROLES) + ")")
    alpha: float = spec_field(32.0, help="LoRA scaling numerator (authors' scripts: 32)", gt=0,
                         le=1e6)
    dropout: float = spec_field(0.1, help="LoRA dropout (authors' scripts: 0.1)", ge=0, lt=1)

    def __post_init__(self) -> None:
        validate(self)
        roles(self.placement)  # raises on an unknown placement

    @property
    def roles(self) -> frozenset[str]:
        """The layer roles this placement selects (empty when rank is 0)."""
        return roles(self.placement) if self.rank > 0 else frozenset()


def roles(placement: Union[str, tuple, list]) -> frozenset[str]:
    """Layer roles selected by a placement name or an explicit list of roles."""
    from ._fields import SpecError

    if isinstance(placement, str):
        if placement not in PLACEMENTS:
            raise SpecError(f"placement: must be one of {', '.join(PLACEMENTS)} or a list of roles; "
                            f"got {placement!r}")
        return PLACEMENTS[placement]
    chosen = frozenset(placement)
    unknown = sorted(chosen - set(ROLES))
    if unknown or not chosen:
        raise SpecError(f"placement: roles must be a non-empty list of {', '.join(ROLES)}; "
                        f"got {list(placement)!r}")
    return chosen
