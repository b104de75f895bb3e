"""Hardware and LoRA parameters: nested dataclasses, every field with meaning, unit and range.

Defaults are the AHWA-LoRA paper's setting (Li et al. 2026, docs/reference/paper.md sections 2 and 5)
unless a field's help names another source. Calibrated constants say where their value comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ._fields import spec_field, validate
from .digital_spec import DigitalSpec
from .offchip import OffchipSpec
from .system_specs import LinkSpec, LmHeadSpec


#: input encodings (DACs) and output converters (ADCs) a tile can have; see hw_models/converters.py
DAC_KINDS = ("pwm", "bit_serial", "amplitude")
ADC_KINDS = ("sar", "ramp", "flash", "cco")


@dataclass(frozen=True)
class AimcTileSpec:
    """One analog PCM crossbar tile and its converters.

    One MVM is input encoding + integration + conversion (+ a fixed latch/readout time); its
    energy is array + input encoding + integration-window periphery + conversion + per-column
    digital + readout (hw_models.aimc.mvm_breakdown), charged for the rows and columns a layer
    uses. The defaults are the
    paper's 512 x 512 tile at 256 ns with explicit converters (PWM inputs, SAR ADCs);
    :meth:`paper` hides the conversion in the integration time as the AHWA-LoRA paper assumes,
    :meth:`hermes` is IBM HERMES's 256 x 256 core.
    """

    rows: int = spec_field(512, help="crossbar rows: inputs per tile (paper: 512 x 512 unit cells)",
                           unit="cells", ge=1, le=65536)
    cols: int = spec_field(512, help="crossbar columns: outputs per tile", unit="cells", ge=1,
                           le=65536)
    integration_ns: float = spec_field(
        256.0, help="integration time of one MVM: the window in which the column currents are "
                    "integrated (with PWM inputs, the full-scale input pulse); paper: 128, 256, 512; "
                    "from 1 ns (a PCM tile cannot settle its column currents faster)",
        unit="ns", ge=1, le=1e6)
    adc_bits: int = spec_field(8, help="ADC resolution of the tile outputs (paper: 8)", unit="bit",
                               ge=1, le=16)
    dac_bits: int = spec_field(8, help="DAC resolution of the tile inputs, sign included "
                                       "(paper: 8)", unit="bit", ge=1, le=16)
    dac_kind: str = spec_field(
        "pwm", help="input encoding: pwm (pulse-width: the input is a pulse of up to "
                    "2^(bits-1) LSB pulses inside the integration window, sign by polarity; "
                    "HERMES, Le Gallo et al. 2023), bit_serial (one integration and one "
                    "conversion per input bit, shift-and-add after the ADC), amplitude (a "
                    "voltage DAC that settles before integrating)", choices=DAC_KINDS)
    adc_kind: str = spec_field(
        "sar", help="output converter: sar (bits cycles after integrating), ramp (2^bits steps "
                    "after integrating), flash (one cycle), cco (current-controlled oscillator "
                    "counted during the integration window, HERMES-core: Khaddam-Aljameh et al., "
                    "IEEE JSSC 2022)", choices=ADC_KINDS)
    adc_model: str = spec_field(
        "survey_fit", help="energy and area of SAR, ramp and flash converters: survey_fit = "
                           "hwcomponents-adc's fit to Murmann's ADC survey at the tile's 14 nm "
                           "and its conversion rate (Andrulis et al., arXiv:2404.06553; 0.36 pJ "
                           "and 606 um^2 at 8 bit, 1 / 256 ns; below its 4-bit floor x1/2 per "
                           "bit, an assumption); fom = the larger of the Walden and Schreier "
                           "figures of merit (adc_fom_*) and area x2 per bit. A CCO is always "
                           "HERMES's measured case (cco_fj_per_step)",
        choices=("survey_fit", "fom"))
    dac_lsb_ns: float = spec_field(
        1.0, help="shortest PWM pulse (one input LSB): one cycle of HERMES-core's 1 GHz main "
                  "clock (Khaddam-Aljameh et al., IEEE JSSC 2022); 8-bit signed inputs are then "
                  "up to 2^7 = 128 ns, which matches HERMES's ~133 ns per MVM (Le Gallo et al. "
                  "2023)", unit="ns", ge=0.01, le=100)
    dac_settle_tau_ns: float = spec_field(
        0.5, help="settling time constant of an amplitude DAC driving a row; it settles to half "
                  "an LSB in (bits + 1) ln 2 time constants. Assumption (no figure published for "
                  "PCM tiles)", unit="ns", ge=0.01, le=100)
    adc_cycle_ns: float = spec_field(
        1.0, help="one SAR bit cycle, or one flash conversion. Assumption: 8-bit SAR ADCs in "
                  "Murmann's ADC Performance Survey (1997-2024) run at ~0.1-1 GS/s, i.e. "
                  "~0.1-1.25 ns per bit cycle; 1 ns is a column-pitch ADC at the slow end",
        unit="ns", ge=0.01, le=100)
    adc_lsb_ns: float = spec_field(
        0.3, help="one step of a ramp or CCO ADC (2^bits steps per conversion): HERMES-core's "
                  "linearised CCO ADC, 300 ps/LSB (Khaddam-Aljameh et al., IEEE JSSC 2022)",
        unit="ns", ge=0.01, le=100)
    mvm_overhead_ns: float = spec_field(
        5.0, help="fixed time per MVM to latch the converted outputs into the tile's output "
                  "register, from which they are read out into the PMCA TCDM (readout: "
                  "output_bytes per output over pmca.link_bytes_per_cycle, not part of this "
                  "time). Derived: HERMES's ~133 ns per 8-bit MVM (64 x 2 x 256 x 256 ops / "
                  "63.1 TOPS, Le Gallo et al. 2023) minus its 128 ns PWM window", unit="ns",
        ge=0, le=1000)
    g_max_us: float = spec_field(
        25.0, help="PCM conductance of a weight at full scale (paper: G_max = 25 uS)", unit="uS",
        gt=0, le=1000)
    read_voltage_v: float = spec_field(
        0.2, help="read voltage across a cell while its input pulse is on. Assumption: 0.2 V, the "
                  "read voltage of IBM's PCM inference characterisation (Joshi et al., Nat. "
                  "Commun. 2020), low enough not to disturb the cell", unit="V", gt=0, le=2)
    mean_conductance: float = spec_field(
        0.266, help="mean conducting conductance per weight as a fraction of G_max (differential "
                    "pair: one device conducts). Derived: Gaussian weights clipped at 3 sigma "
                    "(paper) have E|w| / w_max = sqrt(2/pi) / 3 = 0.266", unit="fraction",
        ge=0, le=1)
    input_activity: float = spec_field(
        0.25, help="mean input magnitude as a fraction of full scale (the mean PWM duty; the "
                   "share of ones per bit plane for bit-serial inputs). Assumption: activations "
                   "after LayerNorm clipped to a few sigma", unit="fraction", ge=0, le=1)
    dac_pj: float = spec_field(
        0.2, help="energy of one 8-bit input conversion on one row (PWM counter/comparator and "
                  "row driver); scales as 2^(bits-8) for pwm/amplitude and bits/8 for bit-serial. "
                  "Assumption: ~128 cycles of a ~1 fJ/cycle comparator plus a ~100 fF row line at "
                  "0.2 V", unit="pJ", ge=0, le=1000)
    adc_fom_walden_fj: float = spec_field(
        20.0, help="ADC Walden figure of merit of SAR, ramp and flash converters (a CCO: "
                   "cco_fj_per_step): energy per conversion = FoM x 2^bits. "
                   "Assumption: published Nyquist ADCs in Murmann's ADC Performance Survey span "
                   "~1-100 fJ/conversion-step at 10 MS/s-1 GS/s; 20 is a mid value",
        unit="fJ/step", gt=0, le=1e5)
    adc_fom_schreier_db: float = spec_field(
        175.0, help="ADC Schreier figure of merit (thermal-noise-limited regime, energy x4 per "
                    "bit): energy per conversion = 10^((6.02 bits + 1.76 - FoM) / 10) / 2. "
                    "Murmann's survey: state of the art ~185 dB, 175 dB typical", unit="dB",
        ge=120, le=200)
    window_uw_per_col: float = spec_field(
        136.9, help="power per column drawn while the integration window is open (column "
                    "integrator / current sensing, bias and references, the window's clocking); "
                    "an MVM's share is this x the window (x the planes of bit-serial inputs), so "
                    "a shorter integration saves it. Derived: 35 % (an assumption, "
                    "hw_models.calibration.HERMES_SPLIT) of what HERMES's 13.4 nJ per 8-bit "
                    "256 x 256 core MVM (2 x 256^2 ops / 9.76 TOPS/W, Le Gallo et al. 2023) "
                    "leaves after this model's array and DAC energy, over 256 columns and its "
                    "128 ns window", unit="uW", ge=0, le=1e6)
    cco_fj_per_step: float = spec_field(
        78.25, help="energy per step (oscillation counted) of a CCO ADC with its support circuits; "
                    "a conversion counts 2^bits steps at full scale. HERMES's measured special "
                    "case (Khaddam-Aljameh et al., IEEE JSSC 2022). Derived: 40 % (an assumption, "
                    "hw_models.calibration.HERMES_SPLIT) of HERMES's per-column remainder (see "
                    "window_uw_per_col) / 2^8 steps", unit="fJ/step", ge=0, le=1e6)
    digital_pj_per_col: float = spec_field(
        10.02, help="energy per MVM and used column of the tile's local digital unit (affine "
                    "scaling, offset and partial-sum arithmetic of one output) at 8-bit outputs; "
                    "scales with adc_bits / 8 (its datapath width) and with the planes of "
                    "bit-serial inputs (shift-and-add). Derived: 20 % (an assumption, "
                    "hw_models.calibration.HERMES_SPLIT) of HERMES's per-column remainder (see "
                    "window_uw_per_col)", unit="pJ", ge=0, le=1e4)
    readout_pj_per_bit: float = spec_field(
        0.313, help="energy per output bit latched and driven out of the tile (output latch, "
                    "core-edge drivers); an MVM reads adc_bits per used column. Derived: 5 % (an "
                    "assumption, hw_models.calibration.HERMES_SPLIT) of HERMES's per-column "
                    "remainder (see window_uw_per_col) / 8 bits", unit="pJ/bit", ge=0, le=1e4)
    output_buffers: int = spec_field(
        1, help="output latches of the tile: with 1 the next chunk's integration waits until the "
                "previous chunk's outputs have been read out into the PMCA TCDM, so the readout is "
                "on the tile's critical path (calibrated: this reproduces the paper's 1.05x at "
                "512 ns, Li et al. 2026; 2 would hide the readout)", unit="buffers", ge=1, le=2)
    output_bytes: int = spec_field(
        2, help="readout format: bytes per output value moved from the tile into the PMCA TCDM "
                "(readout time and link/TCDM energy). 2: FP16 outputs, the AHWA-LoRA paper's "
                "setting, to which pmca.link_bytes_per_cycle is calibrated (Li et al. 2026: the "
                "LoRA output is added to the tile output in FP16); 1: INT8, what HERMES's local "
                "digital unit emits after its affine correction (Le Gallo et al. 2023)",
        unit="B", choices=(1, 2, 4))

    @classmethod
    def paper(cls, **overrides) -> AimcTileSpec:
        """The AHWA-LoRA paper's tile (Li et al. 2026): conversion hidden in the integration time,
        so one MVM takes exactly the integration time (PWM inputs and CCO ADCs counted inside the
        window, no readout time) while the pulses and counts fit in it (8 bit: from 128 ns)."""
        return cls(**{"dac_kind": "pwm", "adc_kind": "cco", "mvm_overhead_ns": 0.0, **overrides})

    @classmethod
    def hermes(cls, **overrides) -> AimcTileSpec:
        """An IBM HERMES core (Le Gallo et al., Nature Electronics 2023): 256 x 256 PCM, 8-bit
        PWM inputs at 1 ns per LSB (a 128 ns window), CCO ADCs at 300 ps/LSB counted during it
        (Khaddam-Aljameh et al. 2022), ~5 ns latch: ~133 ns and 13.4 nJ per MVM.

        Its outputs leave the core as INT8 (``output_bytes`` 1: the local digital unit's output)
        from the latch while the next MVM integrates (``output_buffers`` 2): the measured ~133 ns
        per MVM is the core's throughput with its outputs read out, so the readout into the PMCA
        must not stall it again (256 B per MVM over the 16 B/cycle port: 16 ns, hidden behind
        the next 133 ns MVM)."""
        return cls(**{"rows": 256, "cols": 256, "integration_ns": 128.0, "dac_kind": "pwm",
                      "adc_kind": "cco", "output_bytes": 1, "output_buffers": 2, **overrides})


@dataclass(frozen=True)
class PmcaSpec:
    """The programmable multi-core accelerator beside each tile: Snitch cluster + RedMule."""

    clock_ghz: float = spec_field(
        1.0, help="cluster clock, RedMulE included. 1 GHz is the Snitch cluster's (Zaruba et al. "
                  "2021, 22FDX); RedMulE's published maximum is 666 MHz (Tortorella et al. 2022, "
                  "22 nm), so 1 GHz assumes a faster corner for it (its energy: "
                  "redmule_energy_scale). The paper's three PMCA/AIMC ratios admit no "
                  "non-negative fit below ~0.9 GHz. The calibrated cycle constants "
                  "(offload_cycles, redmule_tile_cycles, link_bytes_per_cycle) were fitted at 1 GHz "
                  "to the paper's time ratios: at another clock every PMCA time scales by "
                  "1 / clock_ghz and the paper's figures are no longer reproduced",
        unit="GHz", ge=0.01, le=10)
    compute_cores: int = spec_field(8, help="Snitch compute cores (plus one DMA core)", unit="cores",
                                    ge=1, le=1024)
    simd_fp16: int = spec_field(
        2, help="FP16 lanes of each core's SIMD FPU: the paper's Snitch cores have a 32-bit SIMD "
                "mixed-precision FPU, i.e. 2 FP16 lanes (Li et al. 2026)", unit="lanes",
        ge=1, le=16)
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
        2.91, help="RedMulE energy per (padded) FP16 MAC at its one published energy point "
                   "(22 nm; scaled to node_nm), cluster level: 43.5 mW at 688 GFLOPS/W "
                   "(Tortorella et al., DATE 2022) -> "
                   "1.45 pJ/FLOP, 2 FLOP per MAC; that point computes 29.9 GFLOPS, i.e. runs at "
                   "~473 MHz (31.6 MAC/cycle). It is a whole-cluster efficiency, so it contains "
                   "the cluster's TCDM traffic and idle cores: no TCDM energy is added for "
                   "RedMulE's operands. Scaled to clock_ghz by redmule_energy_scale", unit="pJ",
        ge=0, le=1e6)
    redmule_energy_scale: float = spec_field(
        1.0, help="RedMulE energy per operation at clock_ghz relative to its published point "
                  "(~473 MHz): dynamic energy grows as V^2 when the voltage is raised for a "
                  "faster clock. Assumption: 1 keeps the published energy (optimistic at 1 GHz); "
                  "a 0.65 -> 0.8-0.9 V swing would give 1.5-1.9 (no RedMulE point above 666 MHz "
                  "is published); benchmarks/sensitivity.py moves it over 1-2", unit="x",
        ge=0.1, le=10)
    core_pj_per_flop: float = spec_field(
        5.0, help="Snitch core energy per FP16 FLOP at 22 nm (scaled to node_nm), cluster "
                  "level (TCDM operand traffic included): ~100 GFLOPS/W FP64 for the Snitch "
                  "cluster at 1 GHz (Zaruba et al. "
                  "2021) -> 10 pJ per FPU issue, / 2 FP16 lanes of the 32-bit SIMD FPU "
                  "(derivation; conservative: a 32-bit FPU issue costs less than a 64-bit one)",
        unit="pJ", ge=0, le=1e6)
    node_nm: float = spec_field(
        22.0, help="technology node of the PMCA clusters and the chip's L2 (the digital side): "
                   "22 is the node RedMulE's and the Snitch/PULP clusters' figures are "
                   "published at; 14 scales their area, energy and leakage with Stillmaker & "
                   "Baas (Integration 2017; 22 -> 14 nm: area 0.747, energy and leakage 0.47) "
                   "and takes the memories from CACTI at 14 nm (hw_models.components)",
        unit="nm", choices=(22.0, 14.0))
    link_mm: float = spec_field(
        1.0, help="wire length of an on-chip transfer (tile -> TCDM readout, DMA between "
                  "neighbouring clusters or into the tiles). Assumption: ~ the side of one "
                  "tile + cluster pair (1.5-2.4 mm^2 at the defaults, hw_models.area)",
        unit="mm", ge=0, le=1000)
    wire_activity: float = spec_field(
        0.5, help="share of the link's wires that toggle per transferred bit (the wire energy "
                  "itself: hwcomponents-library's 0.2 fF/um at 0.7 V, hw_models.memory). "
                  "Assumption: uncorrelated data toggles half of them", unit="fraction", ge=0,
        le=1)

    def __post_init__(self) -> None:
        validate(self)
        if self.redmule_fma and self.redmule_fma % self.redmule_height:
            from ._fields import SpecError
            raise SpecError(f"pmca.redmule_fma: must be 0 or a multiple of redmule_height "
                            f"({self.redmule_height}); got {self.redmule_fma}")


#: where a block's attention runs (see :class:`AttentionSpec`)
ATTENTION_MAPPINGS = ("upstream", "block", "qkv", "dedicated")


@dataclass(frozen=True)
class AttentionSpec:
    """Where and how a block's attention (Q K^T, softmax, P V: activation x activation, digital)
    runs, and how its operands move.

    Heads run in parallel, one head per cluster at a time; when a mapping offers at least twice as
    many clusters as heads, they form groups of ``heads`` clusters and query chunks go round-robin
    over the groups. With grouped-query attention, a cluster that runs several query heads of one
    K/V group stacks them and reads that K/V head once per chunk, where no cluster's work grows
    (docs/guide/decode_memory.md). Each cluster streams its head's K and V (and Q, and the output)
    between the L2 and its TCDM by DMA, double-buffered with the compute. Clusters borrowed from
    linear layers give the layers' own LoRA work priority (it preempts attention).
    """

    mapping: str = spec_field(
        "upstream", choices=ATTENTION_MAPPINGS,
        help="which clusters run attention: upstream = the PMCAs of the block's layers before "
             "attention (Q/K/V and what feeds them: idle once an encoder's barrier has passed, "
             "busy with later chunks in a causal decoder); block = the PMCAs of every linear layer "
             "of the block; qkv = only the PMCAs of the Q/K/V layers; dedicated = "
             "dedicated_clusters clusters of the PMCA's design per block, with no tile and no LoRA "
             "work (no contention). Assumption: the AHWA-LoRA paper runs attention on the PMCA "
             "without saying which ones")
    dedicated_clusters: int = spec_field(
        4, help="clusters of the dedicated attention unit of each block (mapping = dedicated); "
                "each is a PMCA cluster (cores, RedMulE, TCDM) without a tile", unit="clusters",
        ge=1, le=4096)
    kv_block_keys: int = spec_field(
        64, help="keys per K/V block streamed from the L2 into the TCDM (double-buffered; the "
                 "t x S scores of a head stay in the TCDM). Assumption: a block small enough for "
                 "any TCDM of the design space", unit="keys", ge=1, le=65536)
    splits: int = spec_field(
        0, help="decode only (split-K, as flash-decoding does on GPUs, Dao et al. 2023): clusters "
                "over which a generated token's keys of one K/V head are split, each computing a "
                "partial softmax, combined by one cluster per K/V head (its traffic and time "
                "counted, hw_models.kv); 0 = as many as the attention clusters left idle by one "
                "per K/V head allow (at most one per kv_block_keys keys), 1 = no split",
        unit="clusters", ge=0, le=65536)

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class HardwareSpec:
    """One AIMC tile + PMCA pair, replicated for every tile of the network, and the token pipeline."""

    aimc: AimcTileSpec = field(default_factory=AimcTileSpec,
                               metadata={"help": "the analog tile"})
    pmca: PmcaSpec = field(default_factory=PmcaSpec, metadata={"help": "the digital co-processor"})
    attention: AttentionSpec = field(default_factory=AttentionSpec,
                                     metadata={"help": "where attention runs"})
    tokens: int = spec_field(8, help="parallel tokens t per pipeline chunk (paper: 8..128)",
                             unit="tokens", ge=1, le=4096)
    chip: ChipSpec = field(default_factory=lambda: ChipSpec(),
                             metadata={"help": "silicon area, leakage and the chip the tiles sit on"})
    link: LinkSpec = field(default_factory=LinkSpec,
                           metadata={"help": "chip-to-chip links (hw_models.chips)"})
    lm_head: LmHeadSpec = field(default_factory=LmHeadSpec,
                                metadata={"help": "a decoder's LM head and embedding table"})
    offchip: OffchipSpec = field(default_factory=OffchipSpec,
                                 metadata={"help": "off-chip memory (DRAM) for the KV cache "
                                                   "beyond the L2 (decode)"})
    digital: DigitalSpec = field(default_factory=DigitalSpec,
                                 metadata={"help": "linear layers that stay digital (no tile; "
                                                   "hw_models.digital)"})

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


@dataclass(frozen=True)
class ChipSpec:
    """Silicon area and leakage of a tile + PMCA pair, and the chip that holds the tiles.

    Technology nodes: the AIMC figures are HERMES's (14 nm CMOS with back-end PCM); the PMCA
    figures are RedMulE's PULP cluster (22 nm FD-SOI), at ``pmca.node_nm`` with Stillmaker and
    Baas's scaling (22 -> 14 nm area 0.747, not the ideal (14/22)^2 = 0.405); memories and leakage
    densities come from the component data (hw_models.components, hw_models.memory).
    """

    hermes_core_mm2: float = spec_field(
        0.620, help="area of one HERMES 256 x 256 AIMC core (PCM array, 256 CCO ADCs, PWM input "
                    "drivers, local digital unit), 14 nm: 63.1 TOPS / 64 cores = 0.986 TOPS per "
                    "core (Le Gallo et al., Nature Electronics 2023) / 1.59 TOPS/mm^2 "
                    "(HERMES-Core, Khaddam-Aljameh et al., IEEE JSSC 2022) = 0.620 mm^2",
        unit="mm^2", gt=0)
    hermes_core_rows: int = spec_field(256, help="rows of the HERMES core the area refers to "
                                                 "(Le Gallo et al. 2023)", unit="cells", ge=1)
    hermes_core_cols: int = spec_field(256, help="columns of the HERMES core the area refers to "
                                                 "(Le Gallo et al. 2023)", unit="cells", ge=1)
    array_area_share: float = spec_field(
        0.5, help="share of the HERMES core area in the crossbar itself, which scales with "
                  "rows x cols; the rest (ADCs, input drivers, local digital) scales with rows + "
                  "cols. Assumption: HERMES publishes no split; 0.5 is ours (its 256 ADCs at a "
                  "4 um pitch span the core's width, Khaddam-Aljameh et al. 2022)",
        unit="fraction", ge=0, le=1)
    adc_area_share: float = spec_field(
        0.5, help="share of the tile periphery (the non-crossbar area) in its ADCs at 8 bit; it "
                  "scales as 2^(bits-8) for SAR, ramp and flash converters (binary-weighted "
                  "capacitor arrays, ramp references, comparator banks) and as bits/8 for CCO "
                  "converters (a counter per column). Assumption: HERMES publishes no split; its "
                  "256 column ADCs set the core's width (Khaddam-Aljameh et al. 2022)",
        unit="fraction", ge=0, le=1)
    dac_area_share: float = spec_field(
        0.1, help="share of the tile periphery in its input encoders (PWM counters, DACs, row "
                  "drivers) at 8 bit; scales as bits/8. Assumption: no published split",
        unit="fraction", ge=0, le=1)
    redmule_mm2_per_fma: float = spec_field(
        0.07 / 32, help="RedMulE area per FMA block, 22 nm: a 32-FMA instance occupies 0.07 mm^2 "
                        "(Tortorella et al., DATE 2022); buffers and control assumed to scale "
                        "with the FMA count", unit="mm^2/FMA", ge=0)
    core_mm2: float = spec_field(
        0.04071,
        help="area per PMCA compute core with its share of the cluster logic (FPU, interconnect, "
             "I-cache, DMA core, peripherals), 22 nm (scaled to pmca.node_nm). Derived: "
             "RedMulE's 0.07 mm^2 is 14 % of its 8-core cluster (Tortorella et al., DATE 2022) "
             "-> 0.50 mm^2, minus RedMulE and a 128 KiB PULP TCDM (16 x 32-bit banks, CACTI at "
             "22 nm via hwcomponents-cacti: 0.104 mm^2), over 8 cores. Assumption: a Snitch "
             "cluster (Zaruba et al. 2021, also 22 nm) is as large per core as that PULP cluster",
        unit="mm^2/core", ge=0)
    tiles_per_chip: int = spec_field(
        64, help="AIMC tiles (each with its PMCA) per chip: a HERMES-like chip holds 64 cores "
                 "(Le Gallo et al., Nature Electronics 2023)", unit="tiles", ge=1)
    l2_kib: int = spec_field(
        1024, help="shared L2 SRAM per chip behind the PMCAs (4 x 64-bit banks; its energy, "
                   "area and leakage from CACTI, hw_models.memory). Assumption: 1 MiB",
        unit="KiB", ge=0)
    l2_banks: int = spec_field(
        4, help="banks of the chip's L2 that its clusters share: in decode attention the chip's "
                "clusters read the KV cache at l2_banks x l2_bank_bytes_per_cycle in total "
                "(32 B/cycle at the defaults), whatever their own 16 B/cycle ports add up to "
                "(hw_models.kv; prefill and the layers' L2 traffic are not limited by it). "
                "Assumption: 4 banks, as the L2's CACTI figures (hw_models.memory)",
        unit="banks", ge=1, le=1024)
    l2_bank_bytes_per_cycle: float = spec_field(
        8.0, help="read bandwidth of one L2 bank: one 64-bit word per PMCA cycle (the banks' "
                  "width in hw_models.memory). Assumption", unit="B/cycle", gt=0, le=4096)
    logic_leakage_cell: str = spec_field(
        "adder", help="library cell whose leakage density stands for the digital logic (PMCA "
                      "cores and RedMulE at pmca.node_nm) and the AIMC periphery (14 nm): "
                      "hwcomponents-library's Aladdin 32-bit cells scaled by Stillmaker & Baas: "
                      "adder 7.97 mW/mm^2 at 22 nm and 5.50 at 14 nm, multiplier 11.6 and 8.03 "
                      "(hw_models.components); SRAM leakage is CACTI's for each memory",
        choices=("adder", "multiplier"))
    leakage_scale: float = spec_field(
        1.0, help="factor on every leakage figure: 1 = the component data; 0 = no leakage (an "
                  "idealised chip, for comparisons)", unit="x", ge=0, le=100)
    aimc_idle_leakage_share: float = spec_field(
        1.0, help="share of an AIMC tile's periphery leakage still drawn while the tile is idle "
                  "(not integrating): power gating of idle tiles. 1 (default): no gating, as on "
                  "the measured chips this model is validated against (HERMES's 9.76 TOPS/W); "
                  "0: idle tiles fully gated, which loses no weights because PCM is "
                  "non-volatile; each gated tile pays wakeup_break_even_ns per chunk",
        unit="fraction", ge=0, le=1)
    cluster_idle_leakage_share: float = spec_field(
        1.0, help="share of a PMCA cluster's logic leakage (cores, RedMulE) still drawn while it "
                  "has no LoRA, accumulation, post-op or attention work: power gating of idle "
                  "clusters. Their TCDM stays on (retentive: it holds the adapters). 1 "
                  "(default): no gating (see aimc_idle_leakage_share); each gated cluster pays "
                  "wakeup_break_even_ns per chunk", unit="fraction", ge=0, le=1)
    wakeup_break_even_ns: float = spec_field(
        100.0, help="energy of waking a power-gated tile periphery or cluster, as the time its "
                    "ungated leakage would take to spend it (the break-even time: recharging "
                    "the gated domain's capacitance, restoring state); charged once per chunk "
                    "per gated unit. Assumption: ~100 cycles at 1 GHz, above the tens of cycles "
                    "published for gated execution units (Hu et al., ISLPED 2004) since a tile "
                    "periphery or a cluster is a larger domain; benchmarks/sensitivity.py moves "
                    "it over 10-1000 ns",
        unit="ns", ge=0, le=1e9)

    def __post_init__(self) -> None:
        validate(self)
