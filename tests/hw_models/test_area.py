"""Size and cost: tiles, PMCA clusters, area per component, chips, static (leakage) energy."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hw_models as H
from hw_models import aimc, area
from hw_models.workload import CONFIG_DIR

FAST = settings(max_examples=30, deadline=None)


def _hw(rows=512, cols=512, kib=128, fma=32, **chip):
    return H.HardwareSpec(aimc=H.AimcTileSpec(rows=rows, cols=cols),
                          pmca=H.PmcaSpec(tcdm_kib=kib, redmule_fma=fma),
                          chip=H.ChipSpec(**chip))


def test_hermes_core_area_and_density_from_published_figures():
    """A HERMES 256 x 256 core: 63.1 TOPS over 64 cores (Le Gallo et al. 2023) at 1.59 TOPS/mm^2
    (Khaddam-Aljameh et al. 2022) is 0.620 mm^2; the model's 256 x 256 tile is that core."""
    hw = _hw(rows=256, cols=256)
    tile = sum(area.tile_area_mm2(hw).values())
    assert tile == pytest.approx(63.1 / 64 / 1.59, rel=0.01)
    assert 64 * tile == pytest.approx(39.7, rel=0.01)   # the chip's 64 cores, periphery aside


def test_area_of_a_512_tile_and_its_pmca_by_hand():
    """512 x 512 is 4x the HERMES cells and 2x its edge: 0.62 (0.5 x 4 + 0.5 x 2) = 1.86 mm^2;
    the cluster is 8 cores + 32 FMAs x 0.07/32 mm^2 + a 128 KiB TCDM (CACTI, 22 nm)."""
    hw = _hw()
    parts = area.tile_area_mm2(hw)
    assert parts["aimc_array"] == pytest.approx(0.62 * 0.5 * 4)
    assert parts["aimc_periphery"] == pytest.approx(0.62 * 0.5 * 2)
    c = hw.chip
    cl = area.cluster_area_mm2(hw)
    assert cl["redmule"] == pytest.approx(0.07)
    assert cl["tcdm"] == pytest.approx(0.126, rel=0.01)      # CACTI 32 x 64-bit banks, 22 nm
    # the cluster of Tortorella et al. (RedMulE = 14 % of it) is ~0.50 mm^2 with its 16-bank
    # PULP TCDM (0.104 mm^2); the Snitch TCDM's 32 banks are a little larger
    pulp = H.components.sram(128, 22, 16, 32).area_mm2
    assert cl["pmca_cores"] + cl["redmule"] + pulp == pytest.approx(0.07 / 0.14, rel=1e-3)
    assert area.pair_area_mm2(hw) == pytest.approx(1.86 + sum(cl.values()))
    l2 = H.components.sram(1024, 22, 4, 64).area_mm2           # 1 MiB, 4 banks: 0.85 mm^2
    assert area.chip_area_mm2(hw) == pytest.approx(c.tiles_per_chip * area.pair_area_mm2(hw) + l2)


def _mobilebert_tiles_from_config() -> tuple[int, int]:
    """(tiles, weights) of MobileBERT counted from its config.json, independently of
    hw_models.workload: every block's linear layers and the embedding projection."""
    cfg = json.loads((CONFIG_DIR / "mobilebert.json").read_text())
    h, b, i = cfg["hidden_size"], cfg["intra_bottleneck_size"], cfg["intermediate_size"]
    shapes = [(h, b), (h, b),                    # bottleneck input, bottleneck attention
              (b, b), (b, b), (h, b), (b, b)]    # query, key, value (from hidden), attn out
    shapes += [(b, i), (i, b)] * cfg["num_feedforward_networks"]
    shapes += [(b, h)]                            # output bottleneck
    emb = (3 * cfg["embedding_size"], h)          # trigram embedding projection
    tiles = cfg["num_hidden_layers"] * sum(math.ceil(m / 512) * math.ceil(n / 512)
                                           for m, n in shapes) + 1
    weights = cfg["num_hidden_layers"] * sum(m * n for m, n in shapes) + emb[0] * emb[1]
    return tiles, weights


def test_mobilebert_tiles_and_chips():
    tiles, weights = _mobilebert_tiles_from_config()
    hw = _hw()
    net = H.load_network("mobilebert")
    assert area.network_tiles(net, hw) == tiles == 361
    # every layer fits one tile, so tiles >= the densest packing of the weights
    assert tiles >= math.ceil(weights / (512 * 512)) == 78
    rep = H.evaluate_network(net, hw, H.LoraSpec(rank=8), seq_len=64, engine="closed_form")
    assert rep.tiles == rep.pmca_clusters == 361
    assert rep.chips == math.ceil(361 / 64) == 6
    assert rep.tcdm_total_bytes == 361 * 128 * 1024
    assert rep.area_mm2 == pytest.approx(sum(rep.area_by_component_mm2.values()))
    assert set(rep.area_by_component_mm2) == set(area.COMPONENTS)


def test_llama_needs_hundreds_of_chips():
    """LLaMA-3.1-8B: 6.98e9 weights on 512 x 512 tiles with no padding (all dims multiples of
    512): 26,624 tiles, 416 HERMES-like chips."""
    net = H.load_network("llama-3.1-8b")
    weights = sum(L.m * L.n * L.count for L in net.layers)
    tiles = area.network_tiles(net, _hw())
    assert tiles == weights // (512 * 512) == 26624
    assert area.chips_needed(tiles, _hw()) == 416


def test_chips_grow_with_network_size():
    hw = _hw()
    by_size = sorted(H.NETWORKS, key=lambda n: sum(L.m * L.n * L.count
                                                   for L in H.load_network(n).layers))
    chips = [area.chips_needed(area.network_tiles(H.load_network(n), hw), hw) for n in by_size]
    assert chips == sorted(chips) and chips[0] < chips[-1]


@FAST
@given(st.lists(st.tuples(st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 48)),
                min_size=1, max_size=6),
       st.tuples(st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 48)),
       st.integers(1, 128))
def test_more_layers_never_fewer_tiles_chips_or_area(shapes, extra, per_chip):
    """Adding a layer to a network never lowers its tiles, chips, area or leakage."""
    hw = H.HardwareSpec(chip=H.ChipSpec(tiles_per_chip=per_chip))

    def net(s):
        layers = tuple(H.LinearLayer(f"l{k}", "other", m, n, count=c)
                       for k, (m, n, c) in enumerate(s))
        return H.Network("synthetic", "synthetic", 1, 1, layers, ())

    small, big = net(shapes), net([*shapes, extra])
    ts, tb = area.network_tiles(small, hw), area.network_tiles(big, hw)
    assert tb > ts
    assert area.chips_needed(tb, hw) >= area.chips_needed(ts, hw)
    a_s, a_b = area.area_breakdown_mm2(ts, hw), area.area_breakdown_mm2(tb, hw)
    assert sum(a_b.values()) > sum(a_s.values())
    assert area.static_power_mw(a_b, tb, hw) > area.static_power_mw(a_s, ts, hw)


@FAST
@given(st.sampled_from([64, 128, 256, 512, 1024]), st.sampled_from([16, 64, 128, 256, 512]),
       st.sampled_from([0, 8, 32, 64]))
def test_area_monotone_in_tile_size_tcdm_and_redmule(size, kib, fma):
    base = area.pair_area_mm2(_hw(size, size, kib, fma))
    assert area.pair_area_mm2(_hw(2 * size, size, kib, fma)) > base
    assert area.pair_area_mm2(_hw(size, 2 * size, kib, fma)) > base
    assert area.pair_area_mm2(_hw(size, size, 2 * kib, fma)) > base
    assert area.pair_area_mm2(_hw(size, size, kib, fma + 4)) > base
    # and the TCDM / RedMulE components move, nothing else
    a, b = area.cluster_area_mm2(_hw(size, size, kib, fma)), \
        area.cluster_area_mm2(_hw(size, size, 2 * kib, fma + 4))
    assert 1.5 * a["tcdm"] < b["tcdm"] < 2.2 * a["tcdm"]     # CACTI: about in proportion
    assert b["redmule"] > a["redmule"]
    assert b["pmca_cores"] == a["pmca_cores"]


def test_digital_node_scales_the_22nm_parts_by_published_scaling():
    one = _hw()
    at14 = H.HardwareSpec(pmca=H.PmcaSpec(node_nm=14.0))
    assert area.tile_area_mm2(at14) == area.tile_area_mm2(one)
    a, b = area.cluster_area_mm2(one), area.cluster_area_mm2(at14)
    for k in ("pmca_cores", "redmule"):      # Stillmaker & Baas 22 -> 14 nm: 0.747, not 0.405
        assert b[k] == pytest.approx(a[k] * 0.747, rel=1e-3)
    assert b["tcdm"] == pytest.approx(H.components.sram(128, 14, 32, 64).area_mm2)
    # energy and leakage scale too: RedMulE's energy per MAC x 0.47 at 14 nm
    from hw_models import snitch
    assert snitch.compute_pj(1.0, 0.0, at14.pmca) == pytest.approx(2.91 * 0.472, rel=1e-3)


def test_static_energy_grows_with_integration_time_and_is_in_energy():
    net = H.load_network("minilm-l6")
    reps = [H.evaluate_network(net, H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=t)),
                               H.LoraSpec(rank=8), seq_len=128) for t in (128.0, 256.0, 512.0)]
    statics = [r.static_energy_pj for r in reps]
    assert statics[0] < statics[1] < statics[2]
    for r in reps:
        assert r.static_energy_pj == pytest.approx(r.static_power_mw * r.total_ns)
        assert r.energy_pj == pytest.approx(r.dynamic_energy_pj + r.static_energy_pj)
        assert r.area_mm2 == reps[0].area_mm2           # integration time costs no area
    # no leakage: energy is the dynamic energy alone
    quiet = H.HardwareSpec(chip=H.ChipSpec(leakage_scale=0))
    r0 = H.evaluate_network(net, quiet, H.LoraSpec(rank=8), seq_len=128)
    assert r0.static_energy_pj == 0 and r0.energy_pj == r0.dynamic_energy_pj


def test_chip_spec_rejects_bad_values():
    with pytest.raises(H.SpecError, match="tiles_per_chip: must be >= 1"):
        H.ChipSpec(tiles_per_chip=0)
    with pytest.raises(H.SpecError, match="array_area_share: must be <= 1"):
        H.ChipSpec(array_area_share=1.5)


def test_cli_json_keeps_contract_and_adds_size(capsys):
    from codesign.cli import main

    assert main(["latency", "--model", "minilm-l6", "--seq-len", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    from codesign.cli.latency import SYSTEM_KEYS

    assert set(H.CONTRACT_KEYS) | {"layers"} | set(H.reports.SIZE_KEYS) | set(SYSTEM_KEYS) \
        == set(out)
    assert out["tiles"] == 60 and out["chips"] == 1
    assert out["energy_pj"] == pytest.approx(out["dynamic_energy_pj"] + out["static_energy_pj"])
    assert main(["latency", "--model", "minilm-l6", "--seq-len", "64"]) == 0
    assert "60 tiles + 60 PMCA clusters" in capsys.readouterr().out


def test_area_and_chips_are_study_metrics():
    from codesign import evaluators
    from codesign.config.study import DesignPoint
    from codesign.metrics import METRICS, parse_rule

    point = DesignPoint()
    m = evaluators.hardware_metrics(point)
    rep = H.evaluate_network(H.load_network(point.workload.network), point.hardware,
                             point.lora, seq_len=point.workload.seq_len)
    assert m["area_mm2"] == pytest.approx(rep.area_mm2) and m["chips"] == rep.chips
    assert m["static_energy_uj"] == pytest.approx(rep.static_energy_pj / 1e6)
    assert m["dynamic_energy_uj"] + m["static_energy_uj"] == pytest.approx(m["energy_uj"])
    for name in ("area_mm2", "chips", "static_energy_uj", "dynamic_energy_uj"):
        assert METRICS[name].direction == "minimize"
    rule = parse_rule("chips<=1", "constraints[0]")
    assert rule.holds(m["chips"]) == (rep.chips <= 1)


def test_study_optimises_area_under_a_chip_constraint(tmp_path):
    """A hardware-only study with area_mm2 as an objective and chips as a constraint: the trials
    carry both, and the larger TCDM / RedMulE costs area."""
    import pandas as pd
    import yaml

    from codesign.cli import main

    study = {"name": "area", "sampler": "grid", "n_trials": 4,
             "workload": {"network": "minilm-l6", "seq_len": 64},
             "search_space": {"tcdm_kib": {"choices": [64, 256]},
                              "redmule_fma": {"choices": [8, 32]}},
             "objectives": [{"name": "latency_us"}, {"name": "area_mm2"}],
             "constraints": ["chips<=1"]}
    path = tmp_path / "area.yaml"
    path.write_text(yaml.safe_dump(study))
    assert main(["run", str(path), "--out", str(tmp_path / "results"), "--no-progress"]) == 0
    trials = pd.read_csv(tmp_path / "results" / "area" / "trials.csv")
    assert len(trials) == 4 and set(trials["chips"]) == {1} and trials["feasible"].all()
    by = trials.set_index(["tcdm_kib", "redmule_fma"])["area_mm2"]
    assert by[(256, 32)] > by[(64, 32)] > by[(64, 8)]
    minilm_tiles = 60   # 6 blocks x (4 attention tiles + 3 + 3 for the 384 x 1536 FFN pair)
    assert by[(64, 8)] == pytest.approx(
        sum(area.area_breakdown_mm2(minilm_tiles, _hw(kib=64, fma=8)).values()))


def test_power_gating_idle_tiles_saves_only_their_idle_periphery_leakage():
    net = H.load_network("minilm-l6")
    reps = {g: H.evaluate_network(net, H.HardwareSpec(chip=H.ChipSpec(aimc_idle_leakage_share=g)),
                                  H.LoraSpec(rank=8), seq_len=128) for g in (0.0, 0.5, 1.0)}
    on, off = reps[1.0], reps[0.0]
    assert on.static_energy_pj == pytest.approx(on.static_power_mw * on.total_ns)
    assert off.static_energy_pj < reps[0.5].static_energy_pj < on.static_energy_pj
    assert off.total_ns == on.total_ns and off.dynamic_energy_pj == on.dynamic_energy_pj
    # fully gated: the periphery leaks only while its tile integrates (seq_len MVMs)
    hw = H.HardwareSpec()
    periph_mw = area.leakage_density_mw_per_mm2(hw)[0] * area.tile_area_mm2(hw)["aimc_periphery"]
    busy_tile_ns = area.network_tiles(net, hw) * 128 * aimc.mvm_ns(hw.aimc)   # one MVM a token
    wake = hw.chip.wakeup_break_even_ns * on.tiles * 128 / 8       # one wake-up per chunk of 8
    saved = periph_mw * (on.tiles * on.total_ns - busy_tile_ns - wake)
    assert on.static_energy_pj - off.static_energy_pj == pytest.approx(saved, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["sar", "ramp", "flash", "cco"]), st.integers(2, 12), st.integers(2, 12),
       st.integers(2, 12))
def test_converter_bits_move_tile_area(kind, adc_lo, adc_hi, dac):
    lo, hi = sorted((adc_lo, adc_hi))

    def periphery(adc_bits, dac_bits):
        hw = H.HardwareSpec(aimc=H.AimcTileSpec(adc_kind=kind, adc_bits=adc_bits,
                                                dac_bits=dac_bits))
        return area.tile_area_mm2(hw)["aimc_periphery"]

    assert periphery(lo, dac) <= periphery(hi, dac)
    assert periphery(hi, min(dac, 8)) <= periphery(hi, max(dac, 8))
    if hi > lo:
        assert periphery(lo, dac) < periphery(hi, dac)


def test_converter_area_scale_at_8_bit_and_by_kind():
    assert area.converter_area_scale(H.HardwareSpec()) == 1.0      # the HERMES-derived size
    sar6 = H.HardwareSpec(aimc=H.AimcTileSpec(adc_bits=6))
    cco6 = H.HardwareSpec(aimc=H.AimcTileSpec(adc_kind="cco", adc_bits=6))
    # SAR: hwcomponents-adc's area at 6 bit / 8 bit (526 / 606 um^2 at 14 nm, 1 / 269 ns), or
    # a capacitor array of 2^bits units (x 1/4) by the figures of merit; CCO: a counter (x 6/8)
    fit = H.components.adc_area_um2(6, 14, 1e9 / 267) / H.components.adc_area_um2(8, 14, 1e9 / 267)
    assert 0.8 < fit < 0.9
    assert area.converter_area_scale(sar6) == pytest.approx(0.4 + 0.5 * fit + 0.1, rel=1e-3)
    fom6 = H.HardwareSpec(aimc=H.AimcTileSpec(adc_bits=6, adc_model="fom"))
    assert area.converter_area_scale(fom6) == pytest.approx(0.4 + 0.5 / 4 + 0.1)
    assert area.converter_area_scale(cco6) == pytest.approx(0.4 + 0.5 * 6 / 8 + 0.1)
