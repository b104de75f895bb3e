"""The knob-effect table (benchmarks/knobs.py): every knob moves what physics says it moves."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "knobs.py"
_SPEC = importlib.util.spec_from_file_location("knobs_benchmark", _PATH)
knobs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(knobs)


@pytest.fixture(scope="module")
def rows():
    return {r["knob"]: r for r in knobs.rows()}


def test_every_knob_moves_what_physics_says(rows):
    adc, dac = rows["ADC 8 -> 6 bit"], rows["DAC 8 -> 6 bit"]
    # fewer converter bits: cheaper and smaller converters, coarser quantisation
    assert adc["energy_uj_change"] < 0 and adc["latency_us_change"] < 0
    assert adc["adc_step_change"] > 3 and adc["area_mm2_change"] < 0
    assert dac["energy_uj_change"] < 0 and dac["dac_step_change"] > 3
    assert dac["area_mm2_change"] < 0
    # a shorter integration: faster, less array energy, more output noise (1/sqrt(t): +41 %)
    tint = rows["integration 256 -> 128 ns"]
    assert tint["latency_us_change"] < 0 and tint["energy_uj_change"] < 0
    assert tint["out_noise_change"] == pytest.approx(2 ** 0.5 - 1)
    # more tokens per chunk: a larger working set; a higher rank: time, energy and working set
    assert rows["t 8 -> 16 tokens"]["tcdm_kib_change"] > 0
    rank = rows["rank 8 -> 16"]
    assert rank["latency_us_change"] > 0 and rank["energy_uj_change"] > 0
    assert rank["tcdm_kib_change"] > 0
    # a larger TCDM: more silicon (and leakage), nothing else when the working set fits
    tcdm = rows["TCDM 128 -> 256 KiB"]
    assert tcdm["area_mm2_change"] > 0 and tcdm["energy_uj_change"] > 0
    assert tcdm["latency_us_change"] == 0
    # converter bits and integration time do not change the noise the other knobs set
    assert adc["out_noise_change"] == 0 and tint["adc_step_change"] == 0


def test_adc_bits_and_integration_move_tile_energy_as_the_sources_say(rows):
    # halving the integration window halves what runs during it (and the array): a third of the
    # default tile's MVM energy or more, not the 6.7 % of a fixed per-column lump
    assert rows["integration 256 -> 128 ns"]["mvm_nj_change"] < -0.30
    # 8 -> 6-bit SAR: conversion x 1/4 (Walden), digital and readout x 3/4
    assert -0.2 < rows["ADC 8 -> 6 bit"]["mvm_nj_change"] < -0.05
    # gating changes leakage only; RedMulE's energy scale changes dynamic energy only
    gate, red = rows["gate idle tiles and clusters"], rows["RedMulE energy x1.5 (1 GHz)"]
    assert gate["static_uj_change"] < -0.5 and gate["latency_us_change"] == 0
    assert red["energy_uj_change"] > 0 and red["static_uj_change"] == 0
    assert all(r["compared_with"] for r in rows.values() if r["knob"] != "base point")


def test_table_prints_every_row(rows):
    text = knobs.table(list(rows.values()))
    assert all(f"| {name} |" in text for name in rows)
