"""The analog tile: how a layer maps onto tiles, how long one MVM and one chunk of tokens take,
and what they cost.

One MVM (one token through one tile) is input encoding + integration + conversion + a fixed
readout (``mvm_overhead_ns``); its energy is the array's (cells' read current x read voltage x
the time the inputs are on), the DACs' (per row), the ADCs' (per column and conversion) and the
periphery's (per column). Converter formulas are in :mod:`hw_models.converters`. Pure functions of
an :class:`~hw_models.specs.AimcTileSpec`; times in ns, energy in pJ.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from . import converters as conv
from .specs import AimcTileSpec

#: tile fields that change energy only (never latency): hw_models.system normalises them
ENERGY_ONLY_FIELDS = ("g_max_us", "read_voltage_v", "mean_conductance", "input_activity",
                      "dac_pj", "adc_fom_walden_fj", "adc_fom_schreier_db",
                      "periphery_pj_per_col")


@dataclass(frozen=True)
class MvmBreakdown:
    """Time (ns) and energy (pJ) of one MVM on one tile, per component.

    ``encode_ns``: input encoding beyond the integration time (PWM pulses longer than the
    window, amplitude-DAC settling); ``integrate_ns``: integration (bit-serial: every plane);
    ``convert_ns``: conversion after (or, for a CCO, beyond) the integration; ``overhead_ns``:
    latch and readout.
    """

    encode_ns: float
    integrate_ns: float
    convert_ns: float
    overhead_ns: float
    array_pj: float
    dac_pj: float
    adc_pj: float
    periphery_pj: float

    @property
    def total_ns(self) -> float:
        return self.encode_ns + self.integrate_ns + self.convert_ns + self.overhead_ns

    @property
    def total_pj(self) -> float:
        return self.array_pj + self.dac_pj + self.adc_pj + self.periphery_pj

    def to_dict(self) -> dict:
        return {**asdict(self), "total_ns": self.total_ns, "total_pj": self.total_pj}


def tile_grid(m: int, n: int, tile: AimcTileSpec) -> tuple[int, int]:
    """(row tiles, column tiles) holding an m-input x n-output weight matrix.

    The m inputs are split over ``ceil(m / rows)`` tiles whose partial sums are added digitally;
    the n outputs over ``ceil(n / cols)`` tiles. Example: 768 x 3072 on 512 x 512 -> (2, 6).
    """
    return math.ceil(m / tile.rows), math.ceil(n / tile.cols)


def mvm_breakdown(tile: AimcTileSpec) -> MvmBreakdown:
    """Time and energy of one MVM per component (see the module docstring)."""
    t_int = tile.integration_ns
    planes = tile.dac_bits if tile.dac_kind == "bit_serial" else 1
    encode = 0.0
    window = t_int                                  # time the inputs are on, per plane
    if tile.dac_kind == "pwm":
        window = max(t_int, conv.pwm_full_scale_ns(tile.dac_bits, tile.dac_lsb_ns))
        encode = window - t_int
    elif tile.dac_kind == "amplitude":
        encode = conv.amplitude_settle_ns(tile.dac_bits, tile.dac_settle_tau_ns)
    cco = conv.adc_window_ns(tile.adc_kind, tile.adc_bits, tile.adc_lsb_ns)
    convert = (max(0.0, cco - window)
               + conv.adc_conversion_ns(tile.adc_kind, tile.adc_bits, tile.adc_cycle_ns,
                                        tile.adc_lsb_ns))
    # array: sum of conducting conductances x V^2 x mean on-time (the PWM LSB is stretched to
    # fill the window, so a longer window is a longer, lower-noise and costlier read)
    siemens = tile.rows * tile.cols * tile.g_max_us * 1e-6 * tile.mean_conductance
    on_ns = planes * window * tile.input_activity
    array_pj = siemens * tile.read_voltage_v ** 2 * on_ns * 1e3       # W x ns = 1e3 pJ
    return MvmBreakdown(
        encode_ns=encode, integrate_ns=planes * t_int, convert_ns=planes * convert,
        overhead_ns=tile.mvm_overhead_ns, array_pj=array_pj,
        dac_pj=tile.rows * conv.dac_energy_pj(tile.dac_kind, tile.dac_bits, tile.dac_pj),
        adc_pj=tile.cols * planes * conv.adc_energy_pj(tile.adc_bits, tile.adc_fom_walden_fj,
                                                       tile.adc_fom_schreier_db),
        periphery_pj=tile.cols * tile.periphery_pj_per_col)


def mvm_ns(tile: AimcTileSpec) -> float:
    """Time of one MVM (one token through a tile), ns: encoding + integration + conversion +
    readout (the paper preset, :meth:`AimcTileSpec.paper`: the integration time)."""
    return mvm_breakdown(tile).total_ns


def chunk_ns(tokens: int, tile: AimcTileSpec) -> float:
    """AIMC time for a chunk of ``tokens`` tokens, ns: one MVM per token, all tiles of a layer in
    parallel (paper: the AIMC latency for t tokens is t x integration time)."""
    return tokens * mvm_ns(tile)


def mvm_energy_pj(tile: AimcTileSpec) -> float:
    """Energy of one MVM on one tile, pJ: array + DACs + ADCs + periphery."""
    return mvm_breakdown(tile).total_pj


def tops_per_watt(tile: AimcTileSpec) -> float:
    """Energy efficiency of the tile's MVM, TOPS/W: 2 x rows x cols ops per MVM energy."""
    return 2.0 * tile.rows * tile.cols / mvm_energy_pj(tile)     # ops/pJ = TOPS/W


def layer_energy_pj(m: int, n: int, tokens: int, tile: AimcTileSpec) -> float:
    """AIMC energy of ``tokens`` tokens through an m x n layer (every tile does one MVM per token)."""
    rt, ct = tile_grid(m, n, tile)
    return tokens * rt * ct * mvm_energy_pj(tile)
