"""The analog tile: how a layer maps onto tiles, how long one chunk of tokens takes, what it costs.

Pure functions of an :class:`~hw_models.specs.AimcTileSpec`; times in ns, energy in pJ.
"""

from __future__ import annotations

import math

from .specs import AimcTileSpec


def tile_grid(m: int, n: int, tile: AimcTileSpec) -> tuple[int, int]:
    """(row tiles, column tiles) holding an m-input x n-output weight matrix.

    The m inputs are split over ``ceil(m / rows)`` tiles whose partial sums are added digitally;
    the n outputs over ``ceil(n / cols)`` tiles. Example: 768 x 3072 on 512 x 512 -> (2, 6).
    """
    return math.ceil(m / tile.rows), math.ceil(n / tile.cols)


def mvm_ns(tile: AimcTileSpec) -> float:
    """Time of one MVM (one token through a tile), ns: the integration time plus any extra
    conversion time for converters wider than 8 bit (``adc_ns_per_bit``, ``dac_ns_per_bit``)."""
    return (tile.integration_ns
            + tile.adc_ns_per_bit * max(0, tile.adc_bits - 8)
            + tile.dac_ns_per_bit * max(0, tile.dac_bits - 8))


def chunk_ns(tokens: int, tile: AimcTileSpec) -> float:
    """AIMC time for a chunk of ``tokens`` tokens, ns: one MVM per token, all tiles of a layer in
    parallel (paper: the AIMC latency for t tokens is t x integration time)."""
    return tokens * mvm_ns(tile)


def mvm_energy_pj(tile: AimcTileSpec) -> float:
    """Energy of one MVM on one tile, pJ, at the tile's ADC/DAC resolution.

    ``mvm_energy_pj`` is the 8-bit figure; the converter share of it scales by
    ``adc_energy_scale_per_bit ** (bits - 8)``, half for the ADCs and half for the DACs.
    """
    s = tile.adc_energy_scale_per_bit
    share = tile.converter_energy_share
    conv = 0.5 * (s ** (tile.adc_bits - 8) + s ** (tile.dac_bits - 8))
    return tile.mvm_energy_pj * ((1.0 - share) + share * conv)


def layer_energy_pj(m: int, n: int, tokens: int, tile: AimcTileSpec) -> float:
    """AIMC energy of ``tokens`` tokens through an m x n layer (every tile does one MVM per token)."""
    rt, ct = tile_grid(m, n, tile)
    return tokens * rt * ct * mvm_energy_pj(tile)
