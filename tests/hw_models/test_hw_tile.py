"""The analog tile v2: MVM time and energy per component, converter kinds, presets, validation
against published figures, and hypothesis properties of bits and integration time."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hw_models as H
from hw_models import AimcTileSpec, aimc, converters, memory
from hw_models.specs import ADC_KINDS, DAC_KINDS
from hw_models.validation import validation_rows

ROOT = Path(__file__).resolve().parents[2]


def test_hermes_core_figures_a_reader_knows():
    """HERMES: 9.76 TOPS/W at 8 bit is 2 x 256 x 256 ops / 9.76e12 ops/J = 13.4 nJ per core MVM
    (nJ, not pJ), and 63.1 TOPS over 64 cores is ~133 ns per MVM."""
    tile = AimcTileSpec.hermes()
    assert aimc.mvm_energy_pj(tile) == pytest.approx(2 * 256 * 256 / 9.76e12 * 1e12, rel=0.01)
    assert aimc.mvm_energy_pj(tile) == pytest.approx(13.4e3, rel=0.01)
    assert aimc.mvm_ns(tile) == pytest.approx(64 * 2 * 256 * 256 / 63.1e12 * 1e9, rel=0.01)
    assert aimc.tops_per_watt(tile) == pytest.approx(9.76, rel=0.01)


@pytest.mark.parametrize("seq_len", [320, 4096])
def test_hermes_preset_runs_at_its_measured_mvm_rate(seq_len):
    """At steady state a HERMES core in the pipeline (no adapter) takes ~130 ns per MVM, as
    measured: its 5 ns latch is in the MVM and the INT8 readout of the latched outputs (256 B,
    16 ns over the 16 B/cycle port) overlaps the next MVM instead of being added after it."""
    hw = H.HardwareSpec(aimc=AimcTileSpec.hermes(), tokens=8)
    r = H.layer_closed_form(256, 256, hw, 0, seq_len=seq_len)
    per_mvm = r.total_ns / seq_len
    assert per_mvm == pytest.approx(130, rel=0.10)
    assert per_mvm == pytest.approx(aimc.mvm_ns(hw.aimc), rel=0.01)
    assert r.readout_ns == 8 * 256 * 1 / 16
    # energy per MVM: the core's measured 13.4 nJ plus moving 256 INT8 outputs over the link
    # into the TCDM, which HERMES itself does not do
    per_byte = memory.link_pj_per_byte(hw.pmca) + memory.tcdm_pj_per_byte(hw.pmca)
    assert r.energy_pj / seq_len == pytest.approx(aimc.mvm_energy_pj(hw.aimc) + 256 * per_byte)
    # the double count this replaces: an FP16 readout on the tile's critical path, 165 ns
    old = H.HardwareSpec(aimc=AimcTileSpec.hermes(output_bytes=2, output_buffers=1), tokens=8)
    assert H.layer_closed_form(256, 256, old, 0, seq_len=seq_len).total_ns / seq_len \
        == pytest.approx(133 + 32, rel=0.01)


def test_default_tile_breakdown_by_hand():
    b = aimc.mvm_breakdown(AimcTileSpec())     # 512 x 512, 256 ns, 8-bit PWM in, 8-bit SAR out
    assert (b.encode_ns, b.integrate_ns, b.convert_ns, b.overhead_ns) == (0, 256, 8, 5)
    assert b.total_ns == 269
    # cells x G_max x mean |w| x V^2 x mean on-time (activity x window)
    watts = 512 * 512 * 25e-6 * 0.266 * 0.2 ** 2
    assert b.array_pj == pytest.approx(watts * 0.25 * 256e-9 * 1e12)
    assert b.dac_pj == pytest.approx(512 * 0.2)
    # SAR: hwcomponents-adc's survey fit at 14 nm, one conversion per 269 ns MVM: 0.36 pJ
    assert b.adc_pj == pytest.approx(512 * H.components.adc_energy_pj(8, 14, 1e9 / 269))
    assert b.adc_pj / 512 == pytest.approx(0.362, rel=0.01)
    assert b.window_pj == pytest.approx(512 * 136.9e-6 * 256e-9 * 1e12)   # 136.9 uW x 256 ns
    assert b.digital_pj == pytest.approx(512 * 10.02)
    assert b.readout_pj == pytest.approx(512 * 8 * 0.313)
    assert b.total_pj == pytest.approx(b.array_pj + b.dac_pj + b.window_pj + b.adc_pj
                                       + b.digital_pj + b.readout_pj)
    # 1024 x 3072 fills its 2 x 6 tiles: 12 full MVMs per token
    assert aimc.layer_energy_pj(1024, 3072, 8, AimcTileSpec()) == pytest.approx(8 * 12 * b.total_pj)


def test_paper_preset_hides_conversion_in_the_integration_time():
    for t_int in (128, 256, 512):
        for bits in (4, 6, 8):
            tile = AimcTileSpec.paper(integration_ns=t_int, adc_bits=bits, dac_bits=bits)
            assert aimc.mvm_ns(tile) == t_int
            assert aimc.chunk_ns(8, tile) == 8 * t_int


@pytest.mark.parametrize("kwargs, ns", [
    # PWM: 10-bit signed inputs need 2^9 one-ns pulses, longer than a 256 ns window
    ({"dac_kind": "pwm", "dac_bits": 10}, 512 + 8 + 5),
    # bit-serial: one integration and one SAR conversion per input bit
    ({"dac_kind": "bit_serial", "dac_bits": 4}, 4 * (256 + 8) + 5),
    # amplitude DAC: settles in (bits + 1) ln 2 tau before integrating
    ({"dac_kind": "amplitude"}, 9 * 0.6931471805599453 * 0.5 + 256 + 8 + 5),
    ({"adc_kind": "ramp"}, 256 + 2 ** 8 * 0.3 + 5),
    ({"adc_kind": "flash"}, 256 + 1 + 5),
    # CCO: counts during the window; 12 bits need 2^12 x 0.3 ns = 1228.8 ns
    ({"adc_kind": "cco", "adc_bits": 12}, 2 ** 12 * 0.3 + 5),
])
def test_time_per_converter_kind(kwargs, ns):
    assert aimc.mvm_ns(AimcTileSpec(**kwargs)) == pytest.approx(ns)


def test_adc_energy_follows_walden_then_schreier():
    # x2 per bit where the Walden FoM binds, x4 per bit where thermal noise (Schreier) binds
    assert converters.adc_energy_pj(7, 20, 175) == pytest.approx(
        2 * converters.adc_energy_pj(6, 20, 175))
    assert converters.adc_energy_pj(16, 20, 175) == pytest.approx(
        4 * converters.adc_energy_pj(15, 20, 175), rel=0.01)


def test_every_tile_field_is_bounded_both_sides_or_a_choice():
    for f in dataclasses.fields(AimcTileSpec):
        md = f.metadata
        assert md["help"] and (md["choices"] or md["unit"]), f.name
        if md["choices"] is None:
            assert md["ge"] is not None or md["gt"] is not None, f.name
            assert md["le"] is not None or md["lt"] is not None, f.name


def test_bad_tile_field_names_field():
    with pytest.raises(H.SpecError, match="aimc.adc_kind: must be one of sar, ramp, flash, cco"):
        H.HardwareSpec(aimc=AimcTileSpec(adc_kind="pipeline"))
    with pytest.raises(H.SpecError, match="aimc.integration_ns: must be <= 1e"):
        H.HardwareSpec(aimc=AimcTileSpec(integration_ns=2e6))


def test_bits_move_network_latency_only_when_they_cost_time():
    """The timing memo keeps bits that change the MVM time and drops those that do not."""
    net = H.load_network("minilm-l6")
    lora = H.LoraSpec(rank=8)

    def run(tile):
        return H.evaluate_network(net, H.HardwareSpec(aimc=tile, tokens=16), lora, seq_len=128)

    sar8, sar6 = run(AimcTileSpec()), run(AimcTileSpec(adc_bits=6))
    assert sar6.total_ns < sar8.total_ns and sar6.energy_pj < sar8.energy_pj
    p8, p6 = run(AimcTileSpec.paper()), run(AimcTileSpec.paper(adc_bits=6, dac_bits=6))
    assert p6.total_ns == p8.total_ns and p6.energy_pj < p8.energy_pj


def test_validation_rows_meet_their_tolerances():
    rows = validation_rows()
    for r in rows:
        assert r["ok"], r
        if r["bounds"]:
            assert r["bounds"][0] <= r["model"] <= r["bounds"][1], r
        else:
            assert r["model"] == pytest.approx(r["published"], rel=r["tolerance"]), r
    by = {(r["figure"], r["setting"]): r for r in rows}
    hermes = "HERMES-like core 256x256, 8 bit"
    assert by[("MVM latency", hermes)]["model"] == pytest.approx(133, rel=0.15)
    assert by[("energy efficiency", hermes)]["model"] == pytest.approx(9.76, rel=0.15)
    assert by[("RedMulE efficiency", "FP16 GEMM, 2 FLOP per MAC")]["model"] == \
        pytest.approx(688, rel=0.05)
    paper = [r for r in rows if r["source"].startswith("Li et al.")]
    assert len(paper) == 7                               # 3 ratios, 3 overheads, the best case
    assert all(r["model"] == pytest.approx(r["published"], rel=0.05) for r in paper)
    best = [r for r in paper if r["figure"] == "best-case overhead"]
    assert len(best) == 1 and best[0]["model"] == pytest.approx(1.04, rel=0.05)
    tile = [r for r in rows if r["setting"].startswith("default tile 512x512")]
    assert len(tile) == 1 and 3 <= tile[0]["model"] <= 20


def test_validation_benchmark_prints_json():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "validation.py"), "--json"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    data = json.loads(out.stdout)
    assert data["all_ok"] is True and len(data["rows"]) == len(validation_rows())
    assert data["mvm"]["hermes"]["total_ns"] == pytest.approx(133, rel=0.01)


# ---- hypothesis properties ------------------------------------------------------------------

FAST = settings(max_examples=60, deadline=None)
bits = st.integers(1, 16)
tints = st.floats(1.0, 5000.0)
kinds = st.tuples(st.sampled_from(DAC_KINDS), st.sampled_from(ADC_KINDS))


def _tile(kind, **kw):
    return AimcTileSpec(dac_kind=kind[0], adc_kind=kind[1], **kw)


@pytest.mark.parametrize("field, part", [("adc_bits", "adc_pj"), ("dac_bits", "dac_pj")])
@FAST
@given(kind=kinds, t_int=tints, other=bits, pair=st.tuples(bits, bits))
def test_mvm_time_and_energy_monotone_in_converter_bits(field, part, kind, t_int, other, pair):
    lo, hi = sorted(pair)
    fixed = "dac_bits" if field == "adc_bits" else "adc_bits"
    a, b = (aimc.mvm_breakdown(_tile(kind, integration_ns=t_int, **{fixed: other, field: v}))
            for v in (lo, hi))
    assert a.total_ns <= b.total_ns * (1 + 1e-12)
    if a.total_ns == b.total_ns:
        # at one conversion rate more bits never cost less; where they lengthen the MVM the
        # survey-fitted ADC (sized for its conversion rate) gets cheaper per conversion, so the
        # total may fall at windows of a few ns
        assert a.total_pj <= b.total_pj * (1 + 1e-12)
    if hi > lo:
        assert getattr(a, part) < getattr(b, part)     # every extra bit costs converter energy


@FAST
@given(kinds, bits, bits, st.tuples(tints, tints))
def test_mvm_time_and_energy_grow_with_integration_time(kind, adc, dac, pair):
    """Everything but the conversion grows with the window; the conversion too with rate-free
    figures of merit. (hwcomponents-adc's survey fit charges fast conversions more, so above
    ~100 MS/s a shorter MVM can cost more conversion energy: a property of the survey.)"""
    lo, hi = sorted(pair)
    for model in ("fom", "survey_fit"):
        a, b = (aimc.mvm_breakdown(_tile(kind, integration_ns=t, adc_bits=adc, dac_bits=dac,
                                         adc_model=model)) for t in (lo, hi))
        assert a.total_ns <= b.total_ns * (1 + 1e-12)
        assert a.total_pj - a.adc_pj <= (b.total_pj - b.adc_pj) * (1 + 1e-12)
        if model == "fom":
            assert a.total_pj <= b.total_pj * (1 + 1e-12)
        # strictly, once the window is longer than the pulses and counts it must hold
        floor = max(converters.pwm_full_scale_ns(dac, 1.0) if kind[0] == "pwm" else 0.0,
                    converters.adc_window_ns(kind[1], adc, 0.3))
        if hi > lo * (1 + 1e-9) and lo > floor:     # distinct in floating point
            assert a.total_ns < b.total_ns and a.array_pj < b.array_pj
            assert a.window_pj < b.window_pj


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([128, 512, 768]), st.sampled_from([128, 512, 3072]),
       st.sampled_from([8, 32]), st.integers(0, 16), st.tuples(bits, bits))
def test_layer_latency_and_energy_monotone_in_converter_bits(m, n, t, r, pair):
    lo, hi = sorted(pair)
    for field in ("adc_bits", "dac_bits"):
        a = H.layer_closed_form(m, n, H.HardwareSpec(aimc=AimcTileSpec(**{field: lo}), tokens=t),
                                r)
        b = H.layer_closed_form(m, n, H.HardwareSpec(aimc=AimcTileSpec(**{field: hi}), tokens=t),
                                r)
        assert a.total_ns <= b.total_ns * (1 + 1e-12)
        assert a.energy_pj <= b.energy_pj * (1 + 1e-12)
