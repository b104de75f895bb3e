"""Data converters of an analog tile: time and energy of one input encoding (DAC) and one output
conversion (ADC), per converter kind. Pure functions; times in ns, energy in pJ.

Kinds (hw_models.specs.DAC_KINDS, ADC_KINDS):

* DAC ``pwm``: the input is a pulse of up to 2^(bits-1) LSB pulses (sign by polarity) applied
  inside the integration window, which must be at least that long (HERMES, Le Gallo et al. 2023).
  ``bit_serial``: one binary pulse, one integration and one conversion per input bit.
  ``amplitude``: a voltage DAC that settles to half an LSB in (bits + 1) ln 2 time constants.
* ADC ``sar``: bits cycles after the integration; ``ramp``: 2^bits steps after it; ``flash``: one
  cycle; ``cco``: a current-controlled oscillator counted during the integration window, which must
  hold 2^bits steps (HERMES-core, Khaddam-Aljameh et al., IEEE JSSC 2022).

ADC energy per conversion (:func:`conversion_pj`): a CCO, HERMES's measured special case, costs
``cco_fj_per_step`` per counted step (2^bits at full scale). SAR, ramp and flash converters cost
hwcomponents-adc's fit to Murmann's ADC Performance Survey at the tile's node and conversion rate
(``adc_model = survey_fit``, the default: nearly flat in bits below 8), or (``fom``) the larger of
the two figures of merit that bound published converters: Walden, FoM_W x 2^bits (x2 per bit,
technology limited) and Schreier, 10^((6.02 bits + 1.76 - FoM_S) / 10) / 2 (x4 per bit,
thermal-noise limited).
"""

from __future__ import annotations

import functools
import math


def pwm_full_scale_ns(bits: int, lsb_ns: float) -> float:
    """Longest PWM input pulse, ns: 2^(bits-1) LSB pulses (one bit is the sign)."""
    return 2.0 ** (bits - 1) * lsb_ns


def amplitude_settle_ns(bits: int, tau_ns: float) -> float:
    """Settling time of an amplitude DAC to half an LSB, ns: (bits + 1) ln 2 time constants."""
    return (bits + 1) * math.log(2.0) * tau_ns


def adc_window_ns(kind: str, bits: int, lsb_ns: float) -> float:
    """Shortest integration window an ADC that converts during integration needs, ns
    (a CCO counts 2^bits steps in it); 0 for converters that run after the integration."""
    return 2.0 ** bits * lsb_ns if kind == "cco" else 0.0


def adc_conversion_ns(kind: str, bits: int, cycle_ns: float, lsb_ns: float) -> float:
    """Time of one conversion after the integration, ns: SAR bits cycles, ramp 2^bits steps,
    flash one cycle, CCO none (it converts during the integration)."""
    if kind == "sar":
        return bits * cycle_ns
    if kind == "ramp":
        return 2.0 ** bits * lsb_ns
    if kind == "flash":
        return cycle_ns
    if kind == "cco":
        return 0.0
    raise ValueError(f"adc_kind: unknown converter {kind!r}")


def walden_pj(bits: int, fom_fj_per_step: float) -> float:
    """Energy of one conversion by the Walden figure of merit, pJ: FoM x 2^bits."""
    return fom_fj_per_step * 1e-3 * 2.0 ** bits


def schreier_pj(bits: int, fom_db: float) -> float:
    """Energy of one Nyquist conversion by the Schreier figure of merit, pJ:
    P / f_s = 10^((SNDR - FoM_S) / 10) / 2 with SNDR = 6.02 bits + 1.76 dB."""
    return 0.5 * 10.0 ** ((6.02 * bits + 1.76 - fom_db) / 10.0) * 1e12


def adc_energy_pj(bits: int, fom_walden_fj: float, fom_schreier_db: float) -> float:
    """Energy of one conversion, pJ: the larger of the Walden and Schreier bounds."""
    return max(walden_pj(bits, fom_walden_fj), schreier_pj(bits, fom_schreier_db))


def conversion_pj(tile, rate_hz: float) -> float:
    """Energy of one conversion of one column by the tile's converter kind, pJ (see the module
    docstring); ``tile`` is an :class:`~hw_models.specs.AimcTileSpec`, ``rate_hz`` its
    conversions per second per column (the survey fit depends on it; clamped to the fit's
    1 MHz..1 GHz, below which it is flat)."""
    if tile.adc_kind == "cco":
        return tile.cco_fj_per_step * 1e-3 * 2.0 ** tile.adc_bits
    if tile.adc_kind not in ("sar", "ramp", "flash"):
        raise ValueError(f"adc_kind: unknown converter {tile.adc_kind!r}")
    if tile.adc_model == "fom":
        return adc_energy_pj(tile.adc_bits, tile.adc_fom_walden_fj, tile.adc_fom_schreier_db)
    return survey_fit_pj(tile.adc_bits, rate_hz)


@functools.lru_cache(maxsize=4096)
def survey_fit_pj(bits: int, rate_hz: float) -> float:
    """hwcomponents-adc's energy per conversion at the tiles' 14 nm, pJ (0.36 pJ at 8 bit and
    1 / 256 ns); below the fit's 4-bit floor x1/2 per bit (assumption: the Walden slope)."""
    from . import components
    from .memory import TILE_NODE_NM

    rate = min(max(rate_hz, 1e6), 1e9)
    if bits < 4:
        return components.adc_energy_pj(4, TILE_NODE_NM, rate) * 2.0 ** (bits - 4)
    return components.adc_energy_pj(bits, TILE_NODE_NM, rate)


def dac_energy_pj(kind: str, bits: int, pj_at_8_bit: float) -> float:
    """Energy of one input encoding on one row, pJ, from its 8-bit figure: PWM counters and
    amplitude DACs grow with the 2^bits levels, a bit-serial input with its bits."""
    if kind == "bit_serial":
        return pj_at_8_bit * bits / 8.0
    if kind in ("pwm", "amplitude"):
        return pj_at_8_bit * 2.0 ** (bits - 8)
    raise ValueError(f"dac_kind: unknown input encoding {kind!r}")
