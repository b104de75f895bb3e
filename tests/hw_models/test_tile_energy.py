"""The MVM energy split (issue 21, items 1 and 5): six parts that each scale as their physics says,
the HERMES derivation of their constants, and layers charged for the rows and columns they use."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw_models import AimcTileSpec, aimc, calibration
from hw_models.validation import format_breakdown, tile_breakdown_rows

FAST = settings(max_examples=40, deadline=None)


def test_split_constants_are_the_hermes_derivation():
    """The shipped defaults are hermes_split() of the stated shares (rounded as written)."""
    derived, tile = calibration.hermes_split(), AimcTileSpec()
    for name, value in derived.items():
        assert getattr(tile, name) == pytest.approx(value, rel=2e-3), name


def test_hermes_split_reproduces_the_measured_13_4_nj_whatever_the_shares():
    for shares in ((0.35, 0.40, 0.20), (0.15, 0.60, 0.10), (0.50, 0.25, 0.25)):
        tile = AimcTileSpec.hermes(**calibration.hermes_split(*shares))
        b = aimc.mvm_breakdown(tile)
        assert b.total_pj == pytest.approx(2 * 256 * 256 / 9.76, rel=1e-9)     # 13.43 nJ
        rest = b.total_pj - b.array_pj - b.dac_pj
        assert b.window_pj / rest == pytest.approx(shares[0])
        assert b.adc_pj / rest == pytest.approx(shares[1])
        assert b.digital_pj / rest == pytest.approx(shares[2])
    with pytest.raises(ValueError, match="sum to <= 1"):
        calibration.hermes_split(0.5, 0.5, 0.2)


def test_a_reader_knows_pj_per_conversion_and_tops_per_watt():
    # HERMES's CCO: 78.25 fJ x 2^8 = 20.0 pJ per 8-bit conversion; SAR: the survey fit's 0.36 pJ
    # at 14 nm and one conversion per 256 ns, Walden 20 fJ x 2^8 = 5.12 pJ by the figures of merit
    assert aimc.conv.conversion_pj(AimcTileSpec.hermes(), 1e9 / 133) == pytest.approx(20.03,
                                                                                   rel=1e-3)
    assert aimc.conv.conversion_pj(AimcTileSpec(), 1e9 / 256) == pytest.approx(0.362, rel=0.01)
    assert aimc.conv.conversion_pj(AimcTileSpec(adc_model="fom"), 1e9 / 256) == \
        pytest.approx(5.12)
    assert aimc.tops_per_watt(AimcTileSpec.hermes()) == pytest.approx(9.76, rel=1e-3)
    assert 3.0 <= aimc.tops_per_watt(AimcTileSpec()) <= 20.0


def test_window_part_scales_with_the_integration_window_and_nothing_else_does():
    a, b = (aimc.mvm_breakdown(AimcTileSpec(integration_ns=t)) for t in (256, 512))
    assert b.window_pj == pytest.approx(2 * a.window_pj)
    assert b.array_pj == pytest.approx(2 * a.array_pj)
    for part in ("dac_pj", "adc_pj", "digital_pj", "readout_pj"):
        assert getattr(a, part) == getattr(b, part)
    # a shorter integration saves a third of the default tile's energy or more (measured PCM
    # chips gain markedly in TOPS/W from it), against 6.7 % with the old fixed lump
    short = aimc.mvm_breakdown(AimcTileSpec(integration_ns=128))
    assert 1 - short.total_pj / a.total_pj > 0.3


def test_conversion_scales_with_bits_by_converter_kind():
    # CCO: 2^bits steps; SAR/ramp/flash by the figures of merit: Walden x2 per bit; by the
    # survey fit (the default): nearly flat below 8 bit (7 -> 8 bit: x1.3)
    for kind, model, per_bit in (("sar", "fom", 2.0), ("ramp", "fom", 2.0), ("flash", "fom", 2.0),
                                 ("cco", "survey_fit", 2.0), ("sar", "survey_fit", 1.31)):
        lo, hi = (aimc.mvm_breakdown(AimcTileSpec(adc_kind=kind, adc_bits=b, adc_model=model))
                  for b in (7, 8))
        assert hi.adc_pj / lo.adc_pj == pytest.approx(per_bit, rel=0.02), kind
        assert hi.digital_pj / lo.digital_pj == pytest.approx(8 / 7)
        assert hi.readout_pj / lo.readout_pj == pytest.approx(8 / 7)
        assert hi.window_pj == lo.window_pj


@FAST
@given(st.integers(1, 2048), st.integers(1, 2048),
       st.sampled_from([(512, 512), (256, 256), (128, 512)]))
def test_layer_energy_is_the_sum_over_its_tiles_of_what_each_uses(m, n, shape):
    tile = AimcTileSpec(rows=shape[0], cols=shape[1])
    rt, ct = aimc.tile_grid(m, n, tile)
    total = 0.0
    for i in range(rt):
        rows = min(tile.rows, m - i * tile.rows)
        for j in range(ct):
            cols = min(tile.cols, n - j * tile.cols)
            b = aimc.mvm_breakdown(tile).scaled(rows * cols / (tile.rows * tile.cols),
                                                rows / tile.rows, cols / tile.cols)
            total += b.total_pj
    assert aimc.layer_energy_pj(m, n, 3, tile) == pytest.approx(3 * total, rel=1e-9)
    assert aimc.layer_energy_pj(m, n, 1, tile) <= rt * ct * aimc.mvm_energy_pj(tile) * (1 + 1e-12)


def test_partly_used_tile_is_charged_for_what_it_uses():
    tile = AimcTileSpec()
    full = aimc.mvm_energy_pj(tile)
    quarter = aimc.layer_energy_pj(256, 256, 1, tile)       # a quarter of the cells
    b = aimc.mvm_breakdown(tile)
    assert quarter == pytest.approx(b.array_pj / 4 + b.dac_pj / 2 + (full - b.array_pj
                                                                       - b.dac_pj) / 2)
    assert quarter < 0.55 * full


def test_breakdown_table_lists_every_part_with_a_source():
    rows = tile_breakdown_rows()
    table = format_breakdown(rows)
    for label in ("array", "input encoding", "integration-window periphery", "conversion",
                  "per-column digital", "readout"):
        assert f"| {label} |" in table
    for tile in {r["tile"] for r in rows}:
        shares = [r["share"] for r in rows if r["tile"] == tile and r["part"] != "total"]
        assert sum(shares) == pytest.approx(1.0)
    assert all(r["source"] for r in rows)


def test_energy_only_fields_never_change_the_mvm_time():
    base = AimcTileSpec()
    for name in aimc.ENERGY_ONLY_FIELDS:
        value = getattr(base, name)
        new = "fom" if name == "adc_model" else value * 0.5 + 0.01
        other = dataclasses.replace(base, **{name: new})
        assert aimc.mvm_ns(other) == aimc.mvm_ns(base), name
