"""The analog tile: how a layer maps onto tiles, how long one MVM and one chunk of tokens take,
and what they cost.

One MVM (one token through one tile) is input encoding + integration + conversion + a fixed
readout (``mvm_overhead_ns``). Its energy has six parts, each scaling as its physics does:

* array: the cells' read current x read voltage x the time the inputs are on (per used cell);
* input encoding: the DACs / PWM drivers, per used row;
* integration-window periphery: column integrators, bias, references and clocking, drawn while
  the window is open (per used column x window);
* conversion: one ADC conversion per used column, by converter kind and bits
  (:func:`hw_models.converters.conversion_pj`);
* per-column digital: the local digital unit's arithmetic on each output (x bits / 8);
* readout: latching and driving the output bits out of the tile.

Unused rows get no input pulse and unused columns are masked (not integrated, converted or read),
so a layer that fills part of a tile pays for what it uses (:func:`layer_energy_pj`). The split of
HERMES's measured 13.4 nJ into these parts is in :mod:`hw_models.calibration`
(``HERMES_SPLIT``). Pure functions of an :class:`~hw_models.specs.AimcTileSpec`; times in ns,
energy in pJ.
"""

from __future__ import annotations

import math
import dataclasses
import functools
from dataclasses import asdict, dataclass

from . import converters as conv
from .specs import AimcTileSpec

#: tile fields that change energy only (never latency): hw_models.system normalises them
ENERGY_ONLY_FIELDS = ("g_max_us", "read_voltage_v", "mean_conductance", "input_activity",
                      "dac_pj", "adc_fom_walden_fj", "adc_fom_schreier_db",
                      "window_uw_per_col", "cco_fj_per_step", "digital_pj_per_col",
                      "readout_pj_per_bit", "adc_model")
#: energy parts of an MVM, in report order (:class:`MvmBreakdown`)
ENERGY_PARTS = ("array_pj", "dac_pj", "window_pj", "adc_pj", "digital_pj", "readout_pj")


@dataclass(frozen=True)
class MvmBreakdown:
    """Time (ns) and energy (pJ) of one MVM on one tile, per component.

    ``encode_ns``: input encoding beyond the integration time (PWM pulses longer than the
    window, amplitude-DAC settling); ``integrate_ns``: integration (bit-serial: every plane);
    ``convert_ns``: conversion after (or, for a CCO, beyond) the integration; ``overhead_ns``:
    latch and readout. Energy: ``array_pj`` (cells), ``dac_pj`` (input encoding), ``window_pj``
    (periphery active during the integration window), ``adc_pj`` (conversion), ``digital_pj``
    (per-column digital), ``readout_pj`` (output latch and drive).
    """

    encode_ns: float
    integrate_ns: float
    convert_ns: float
    overhead_ns: float
    array_pj: float
    dac_pj: float
    window_pj: float
    adc_pj: float
    digital_pj: float
    readout_pj: float

    @property
    def total_ns(self) -> float:
        return self.encode_ns + self.integrate_ns + self.convert_ns + self.overhead_ns

    @property
    def total_pj(self) -> float:
        return sum(getattr(self, k) for k in ENERGY_PARTS)

    def shares(self) -> dict[str, float]:
        """Each energy part as a fraction of the MVM's energy."""
        total = self.total_pj
        return {k: (getattr(self, k) / total if total else 0.0) for k in ENERGY_PARTS}

    def scaled(self, cells: float, rows: float, cols: float) -> MvmBreakdown:
        """The energy parts with the array scaled by ``cells``, input encoding by ``rows`` and the
        per-column parts by ``cols`` (fractions of the full tile); times unchanged."""
        return dataclasses.replace(
            self, array_pj=self.array_pj * cells, dac_pj=self.dac_pj * rows,
            window_pj=self.window_pj * cols, adc_pj=self.adc_pj * cols,
            digital_pj=self.digital_pj * cols, readout_pj=self.readout_pj * cols)

    def to_dict(self) -> dict:
        return {**asdict(self), "total_ns": self.total_ns, "total_pj": self.total_pj}


def tile_grid(m: int, n: int, tile: AimcTileSpec) -> tuple[int, int]:
    """(row tiles, column tiles) holding an m-input x n-output weight matrix.

    The m inputs are split over ``ceil(m / rows)`` tiles whose partial sums are added digitally;
    the n outputs over ``ceil(n / cols)`` tiles. Example: 768 x 3072 on 512 x 512 -> (2, 6).
    """
    return math.ceil(m / tile.rows), math.ceil(n / tile.cols)


@functools.lru_cache(maxsize=4096)
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
    cols = tile.cols
    total_ns = encode + planes * (t_int + convert) + tile.mvm_overhead_ns
    rate_hz = planes * 1e9 / total_ns                  # conversions per second per column
    return MvmBreakdown(
        encode_ns=encode, integrate_ns=planes * t_int, convert_ns=planes * convert,
        overhead_ns=tile.mvm_overhead_ns, array_pj=array_pj,
        dac_pj=tile.rows * conv.dac_energy_pj(tile.dac_kind, tile.dac_bits, tile.dac_pj),
        window_pj=cols * planes * tile.window_uw_per_col * 1e-3 * window,    # uW x ns = 1e-3 pJ
        adc_pj=cols * planes * conv.conversion_pj(tile, rate_hz),
        digital_pj=cols * planes * tile.digital_pj_per_col * tile.adc_bits / 8.0,
        readout_pj=cols * tile.adc_bits * tile.readout_pj_per_bit)


def mvm_ns(tile: AimcTileSpec) -> float:
    """Time of one MVM (one token through a tile), ns: encoding + integration + conversion +
    readout (the paper preset, :meth:`AimcTileSpec.paper`: the integration time)."""
    return mvm_breakdown(tile).total_ns


def chunk_ns(tokens: int, tile: AimcTileSpec) -> float:
    """AIMC time for a chunk of ``tokens`` tokens, ns: one MVM per token, all tiles of a layer in
    parallel (paper: the AIMC latency for t tokens is t x integration time)."""
    return tokens * mvm_ns(tile)


def mvm_energy_pj(tile: AimcTileSpec) -> float:
    """Energy of one MVM on a full tile, pJ: the six parts of :func:`mvm_breakdown`."""
    return mvm_breakdown(tile).total_pj


def tops_per_watt(tile: AimcTileSpec) -> float:
    """Energy efficiency of the tile's MVM, TOPS/W: 2 x rows x cols ops per MVM energy."""
    return 2.0 * tile.rows * tile.cols / mvm_energy_pj(tile)     # ops/pJ = TOPS/W


def layer_breakdown(m: int, n: int, tile: AimcTileSpec) -> MvmBreakdown:
    """Energy parts of one token through an m x n layer, summed over its tiles, pJ.

    Every part is linear in the rows, columns or cells a tile uses, so the sum over the layer's
    ``rt x ct`` tiles is exact: the array is charged for the m x n programmed cells, input
    encoding for m rows on each of the ct column tiles, the per-column parts for n columns on each
    of the rt row tiles. A layer that fills its tiles pays rt x ct full MVMs."""
    rt, ct = tile_grid(m, n, tile)
    full = mvm_breakdown(tile)
    return full.scaled(cells=m * n / (tile.rows * tile.cols), rows=m * ct / tile.rows,
                       cols=n * rt / tile.cols)


def layer_energy_pj(m: int, n: int, tokens: int, tile: AimcTileSpec) -> float:
    """AIMC energy of ``tokens`` tokens through an m x n layer (every tile does one MVM per token,
    charged for the rows and columns it uses: :func:`layer_breakdown`)."""
    return tokens * layer_breakdown(m, n, tile).total_pj
