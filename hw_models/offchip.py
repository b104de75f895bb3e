"""Off-chip memory (DRAM) behind the chips: what of a decoder's KV cache does not fit the L2.

:class:`OffchipSpec` is one kind of DRAM device (bandwidth, latency, energy per bit, capacity)
and how many of them the system has; :data:`PRESETS` are an LPDDR5 channel pack and an HBM3
stack, each figure with its source. Pure functions; times in ns, bytes, energy in pJ.

In decode one token crosses the network block after block, so a block's attention has the whole
off-chip bandwidth to itself while it reads its share of the KV cache (:func:`read_ns`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._fields import spec_field, validate


@dataclass(frozen=True)
class OffchipSpec:
    """DRAM devices shared by the system's chips; they hold the KV cache beyond the L2
    (``hw_models.kv``). The defaults are an LPDDR5-6400 x64 channel pack (:meth:`lpddr5`); a
    study file that wants HBM3 gives the figures of :meth:`hbm3` (819.2 GB/s, 3.9 pJ/bit,
    16 GiB)."""

    bandwidth_gb_s: float = spec_field(
        51.2, help="peak read bandwidth of one device. lpddr5: JEDEC LPDDR5 (JESD209-5) at "
                   "6400 MT/s on a 64-bit channel pack (4 x16 channels) = 6400e6 x 8 B = "
                   "51.2 GB/s; hbm3: JEDEC HBM3 (JESD238) 6.4 Gb/s per pin x 1024 pins / 8 = "
                   "819.2 GB/s per stack. Streaming reads are assumed to reach the peak",
        unit="GB/s", gt=0, le=1e6)
    latency_ns: float = spec_field(
        100.0, help="time to the first byte of a streamed read (controller, PHY, row activation), "
                    "paid once per block's attention per token. Assumption: ~100 ns loaded DRAM "
                    "latency (no published figure for this system; a knob)",
        unit="ns", ge=0, le=1e6)
    pj_per_bit: float = spec_field(
        4.5, help="energy per bit read (row activation, on-die data movement, I/O). hbm3: 3.9 "
                  "pJ/bit, HBM2's ~3.9 pJ/bit (O'Connor et al., Fine-Grained DRAM, MICRO 2017) "
                  "kept for HBM3; lpddr5: 4.5 pJ/bit, an assumption within the ~4-5 pJ/bit "
                  "quoted for LPDDR4/5-class mobile DRAM (a knob)",
        unit="pJ/bit", ge=0, le=1e4)
    capacity_gib: float = spec_field(
        8.0, help="capacity of one device. lpddr5: 4 dies x 16 Gb (JESD209-5 densities up to "
                  "32 Gb) = 8 GiB; hbm3: an 8-high stack of 16 Gb dies = 16 GiB (JESD238 allows "
                  "up to 16-high 32 Gb). Assumption: mid-range parts",
        unit="GiB", gt=0, le=1e6)
    devices: int = spec_field(
        1, help="devices (channel packs or stacks) of the system; bandwidth and capacity add up. "
                "Assumption: 1", unit="devices", ge=1, le=4096)

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def lpddr5(cls, **overrides) -> OffchipSpec:
        """One LPDDR5-6400 x64 channel pack: 51.2 GB/s, 8 GiB, 4.5 pJ/bit (see the fields)."""
        return cls(**overrides)

    @classmethod
    def hbm3(cls, **overrides) -> OffchipSpec:
        """One HBM3 stack at 6.4 Gb/s per pin: 819.2 GB/s, 16 GiB, 3.9 pJ/bit (see the fields)."""
        return cls(**{"bandwidth_gb_s": 819.2, "pj_per_bit": 3.9,
                      "capacity_gib": 16.0, **overrides})


#: presets by name (``codesign latency --offchip NAME``)
PRESETS = {"lpddr5": OffchipSpec.lpddr5, "hbm3": OffchipSpec.hbm3}


def preset(name: str) -> OffchipSpec:
    """The preset ``name``; SpecError naming ``offchip`` and the allowed names otherwise."""
    from ._fields import SpecError

    if name not in PRESETS:
        raise SpecError(f"offchip: must be one of {', '.join(PRESETS)}; got {name!r}")
    return PRESETS[name]()


def capacity_bytes(spec: OffchipSpec) -> float:
    """Bytes the system's devices hold together."""
    return spec.devices * spec.capacity_gib * 2**30


def read_ns(nbytes: float, spec: OffchipSpec) -> float:
    """Time to stream ``nbytes`` from the devices, ns: the first-byte latency and the bytes at the
    devices' summed bandwidth (GB/s = B/ns); 0 when nothing is read."""
    if nbytes <= 0:
        return 0.0
    return spec.latency_ns + nbytes / (spec.bandwidth_gb_s * spec.devices)


def pj_per_byte(spec: OffchipSpec) -> float:
    """Energy of one byte read from the devices, pJ."""
    return 8.0 * spec.pj_per_bit
