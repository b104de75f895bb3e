"""System-level parameters: the links between chips and the LM head (with the embeddings).

``hardware.link`` (:class:`LinkSpec`) times and costs every transfer that crosses a chip boundary
(:mod:`hw_models.chips`); ``hardware.lm_head`` (:class:`LmHeadSpec`) says where a decoder's
vocabulary projection runs (its embedding table, and a digital head's weights, are in
``hardware.offchip``). Each figure names its
source, or says "assumption" (then it is a knob).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._fields import spec_field, validate

#: link presets (``--link``); see :meth:`LinkSpec.ucie` and :meth:`LinkSpec.board`
LINK_PRESETS = ("ucie", "board")
#: where a decoder's LM head runs (see :class:`LmHeadSpec`)
LM_HEAD_PLACEMENTS = ("tiles", "digital", "none")


@dataclass(frozen=True)
class LinkSpec:
    """One chip-to-chip link port per chip (the defaults: a UCIe 2.5D chiplet link).

    A transfer that crosses chips takes ``latency_ns`` plus its bytes over ``bandwidth_gbps``
    (1 GB/s = 1 byte/ns) on the sending chip's port, and ``pj_per_bit`` per bit moved."""

    bandwidth_gbps: float = spec_field(
        256.0, help="bandwidth of one chip's link port, one direction. UCIe 1.0 advanced "
                    "(2.5D) package: one module of 64 lanes at 32 GT/s = 256 GB/s (UCIe 1.0 "
                    "specification, key performance targets, 2022)", unit="GB/s", gt=0, le=1e6)
    latency_ns: float = spec_field(
        2.0, help="fixed time of one transfer across the link (PHY + die-to-die adapter, both "
                  "ends). UCIe 1.0 target: < 2 ns (Das Sharma, UCIe, Hot Interconnects 2025)",
        unit="ns", ge=0, le=1e6)
    pj_per_bit: float = spec_field(
        0.3, help="energy per bit moved. UCIe 2.5D: 0.25 pJ/bit up to 16 GT/s, 0.3 above "
                  "(Das Sharma, UCIe, Hot Interconnects 2025)", unit="pJ/bit", ge=0, le=1000)

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def ucie(cls) -> "LinkSpec":
        """A 2.5D chiplet link: UCIe 1.0 advanced package, x64 at 32 GT/s (the defaults)."""
        return cls()

    @classmethod
    def board(cls) -> "LinkSpec":
        """Chips on a board joined by a PCIe-class SerDes link. Bandwidth: PCIe 4.0 x8 (16 GT/s
        x 8 lanes x 128/130 = 15.75 GB/s); latency ~100 ns and 5 pJ/bit are assumptions for a
        long-reach SerDes with its controller (no figure is published for a PCM chip's I/O)."""
        return cls(bandwidth_gbps=16.0, latency_ns=100.0, pj_per_bit=5.0)


def link_preset(name: str) -> LinkSpec:
    """The link preset named ``name`` (ucie, board); SpecError otherwise."""
    from ._fields import SpecError

    if name not in LINK_PRESETS:
        raise SpecError(f"link: must be one of {', '.join(LINK_PRESETS)}; got {name!r}")
    return getattr(LinkSpec, name)()


@dataclass(frozen=True)
class LmHeadSpec:
    """Where a decoder's LM head (hidden x vocabulary, once per generated token) runs. Its
    embedding table (one row read per generated token) and a digital head's weights are in the
    off-chip memory, ``hardware.offchip``."""

    placement: str = spec_field(
        "tiles", choices=LM_HEAD_PLACEMENTS,
        help="tiles: the LM head's weights on their own AIMC tiles and chips, after the last "
             "block (counted in the decode's tiles, chips and leakage); digital: its weights in "
             "the off-chip memory (hardware.offchip), streamed every token, the GEMV on the "
             "PMCA clusters of one chip; none: not costed (the model before the LM head was "
             "added). The embedding table is in the off-chip memory either way")

    def __post_init__(self) -> None:
        validate(self)
