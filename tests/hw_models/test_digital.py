"""Layers that stay digital: no tile, a RedMulE GEMM with its weights from TCDM / L2 / off-chip."""

from __future__ import annotations

import dataclasses
import json

import pytest

import hw_models as H
from hw_models import digital, snitch
from hw_models.area import digital_mapping, tile_area_mm2
from hw_models.digital_spec import DigitalSpec
from hw_models.offchip import OffchipSpec
from hw_models.plan import build_plan

NET = H.load_network("minilm-l6")
LORA = H.LoraSpec(rank=8)


def _hw(layers, **kw) -> H.HardwareSpec:
    return H.HardwareSpec(digital=DigitalSpec(layers=layers), **kw)


def test_none_is_todays_machine():
    """'none' is the default: the same plan (no variants, no GEMM) and the same report."""
    base = H.evaluate_network(NET, H.HardwareSpec(), LORA, seq_len=64)
    same = H.evaluate_network(NET, _hw("none"), LORA, seq_len=64)
    assert same.to_dict() == base.to_dict()
    assert base.digital_layers == 0 and base.tiles == 60
    plan = build_plan(NET, H.HardwareSpec(), LORA, 64)
    assert plan.variants == () and all(lp.full.gemm_ns == 0.0 for lp in plan.block
                                       if hasattr(lp, "full"))


def test_a_digital_layer_has_no_tile_but_keeps_its_clusters():
    # MiniLM's FFN output is 1536 x 384: 3 row tiles of 512 x 512
    one = H.evaluate_network(NET, _hw("output.dense@5"), LORA, seq_len=64)
    base = H.evaluate_network(NET, H.HardwareSpec(), LORA, seq_len=64)
    assert one.tiles == base.tiles - 3 and one.pmca_clusters == base.pmca_clusters
    tile = sum(tile_area_mm2(H.HardwareSpec()).values())
    assert base.area_mm2 - one.area_mm2 == pytest.approx(3 * tile)
    assert one.digital_layers == 1
    digital_reports = [L for L in one.layers if L.tiles == 0]
    assert [(L.name, L.count, L.aimc_ns) for L in digital_reports] == [("output.dense", 1, 0.0)]


def test_role_and_block_names_resolve_to_layer_instances():
    sites = digital.resolve(NET, DigitalSpec(layers="ffn_out@5+query"))
    assert sites == {("output.dense", 5)} | {("query", b) for b in range(6)}
    assert len(digital.resolve(NET, DigitalSpec(layers="ffn"))) == 12
    assert len(digital.resolve(NET, DigitalSpec(layers="all"))) == 36


@pytest.mark.parametrize("layers,match", [
    ("qkey", "'qkey' names no layer of minilm-l6; allowed: none, top-K"),
    ("query@6", "block 6 of 'query@6' is not in 0..5"),
    ("other", "'other' names no layer"),
])
def test_unknown_names_are_one_line_naming_the_field(layers, match):
    with pytest.raises(H.SpecError, match="^digital.layers: " + match) as err:
        digital.resolve(NET, DigitalSpec(layers=layers))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("layers", ["query key", "none+ffn", "top-0", "query+query", "a@b"])
def test_text_that_is_no_token_is_refused_at_construction(layers):
    with pytest.raises(H.SpecError, match="^digital.layers: "):
        DigitalSpec(layers=layers)


def test_top_k_reads_the_ranking_file(tmp_path):
    path = tmp_path / "ranking.json"
    path.write_text(json.dumps({"kind": "codesign-sensitivity", "ranking": [
        {"name": "value@0"}, {"name": "ffn_out@5"}, {"name": "query@2"}]}))
    spec = DigitalSpec(layers="top-2", ranking=str(path))
    assert digital.resolve(NET, spec) == {("value", 0), ("output.dense", 5)}
    with pytest.raises(H.SpecError, match="more layers than the ranking"):
        digital.resolve(NET, DigitalSpec(layers="top-4", ranking=str(path)))
    with pytest.raises(H.SpecError, match="^digital.ranking: top-K needs a ranking file"):
        DigitalSpec(layers="top-2")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(H.SpecError, match="^digital.ranking: .* is no ranking"):
        digital.resolve(NET, DigitalSpec(layers="top-1", ranking=str(tmp_path / "bad.json")))


def test_offchip_weights_are_timed_at_the_shared_bandwidth_and_costed_per_byte():
    """FFN output of block 5 alone, off chip (L2 share 0): each of its 3 clusters streams its
    512 x 384 FP16 block (393216 B) per chunk; the three share the devices' bandwidth."""
    slow = OffchipSpec(bandwidth_gb_s=1.0)
    hw = H.HardwareSpec(digital=DigitalSpec(layers="output.dense@5", l2_share=0.0), offchip=slow)
    dmap = digital_mapping(NET, hw, LORA)
    assert dmap.home("output.dense", 5) == ("offchip", 3)
    w = 512 * 384 * 2
    stage = digital.digital_stage(1536, 384, hw, 8, 8, 0.0, True, False, ("offchip", 3))
    assert stage.gemm_ns == pytest.approx(slow.latency_ns + 3 * w / 1.0)
    assert stage.aimc_ns == 0.0 and stage.readout_ns == 0.0
    free = dataclasses.replace(hw, offchip=dataclasses.replace(slow, pj_per_bit=0.0))
    cheap = digital.digital_stage(1536, 384, free, 8, 8, 0.0, True, False, ("offchip", 3))
    assert stage.energy_pj - cheap.energy_pj == pytest.approx(3 * w * 8 * slow.pj_per_bit)
    report = H.evaluate_network(NET, hw, LORA, seq_len=64)
    assert report.digital_weight_bytes == {"tcdm": 0, "l2": 0, "offchip": 1536 * 384 * 2}


def test_weights_that_fit_stay_in_the_tcdm_and_cost_only_the_gemm():
    hw = H.HardwareSpec(digital=DigitalSpec(layers="query@0"),
                        pmca=H.PmcaSpec(tcdm_kib=1024))
    dmap = digital_mapping(NET, hw, LORA)
    assert dmap.home("query", 0) == ("tcdm", 0)
    stage = digital.digital_stage(384, 384, hw, 8, 8, 0.0, True, True, ("tcdm", 0))
    assert stage.gemm_ns == pytest.approx(snitch.gemm_cycles(8, 384, 384, hw.pmca))
    assert stage.tcdm_bytes >= 384 * 384 * 2


def test_l2_holds_weights_in_network_order_while_its_share_lasts():
    # one chip, 1 MiB L2, half of it for weights: one 288 KiB Q layer fits, the next do not
    dmap = digital_mapping(NET, _hw("query"), LORA)
    homes = [dmap.home("query", b)[0] for b in range(6)]
    assert homes == ["l2", "offchip", "offchip", "offchip", "offchip", "offchip"]


def test_blocks_that_differ_are_each_run_by_both_engines():
    hw = _hw("output.dense@5")
    plan = build_plan(NET, hw, LORA, 64)
    assert len(plan.variants) == 6 and all(v is plan.variants[0] for v in plan.variants[:5])
    assert plan.variants[5] is not plan.variants[0]
    des = H.network_latency(plan, "des")
    closed = H.network_latency(plan, "closed_form")
    base = H.network_latency(build_plan(NET, H.HardwareSpec(), LORA, 64), "des")
    assert des >= closed > base


def test_every_layer_digital_needs_no_tile_and_fewer_chips_of_area():
    report = H.evaluate_network(NET, _hw("all"), LORA, seq_len=64)
    assert report.tiles == 0 and report.pmca_clusters == 60 and report.chips == 1
    assert report.ratio == 0.0 and report.digital_layers == 36


def test_decode_with_digital_layers_is_refused():
    from hw_models.decode import decode_report

    net = H.load_network("llama-3.1-8b")
    with pytest.raises(H.SpecError, match="^digital.layers: generation"):
        decode_report(net, _hw("ffn"), LORA, 16, 2)


def test_a_larger_l2_holds_more_weights_and_the_latency_follows():
    """The timing memo keeps the chip when layers are digital: its L2 decides where they live."""
    slow = OffchipSpec(bandwidth_gb_s=1.0)      # streaming, not the GEMM, sets the time
    small = H.evaluate_network(NET, _hw("query", offchip=slow), LORA, seq_len=64)
    large = H.evaluate_network(NET, _hw("query", offchip=slow, chip=H.ChipSpec(l2_kib=8192)),
                               LORA, seq_len=64)
    assert small.digital_weight_bytes["offchip"] == 5 * 384 * 384 * 2
    assert large.digital_weight_bytes == {"tcdm": 0, "l2": 6 * 384 * 384 * 2, "offchip": 0}
    assert large.dynamic_energy_pj < small.dynamic_energy_pj
    assert large.total_ns < small.total_ns


def test_gated_clusters_of_digital_layers_count_their_gemm_as_busy():
    """Power gating removes leakage only over idle cluster time: a digital layer's clusters are
    busy with their GEMM, so gating saves less than if they were idle."""
    from hw_models.area import idle_cluster_ns

    report = H.evaluate_network(NET, _hw("output.dense@5"), LORA, seq_len=64)
    dig = [L for L in report.layers if L.clusters]
    assert [(L.name, L.clusters, L.tiles) for L in dig] == [("output.dense", 3, 0)]
    with_busy = idle_cluster_ns(report.layers, report.pmca_clusters, report.total_ns,
                                report.attention_ns)
    without = idle_cluster_ns([L for L in report.layers if not L.clusters],
                              report.pmca_clusters, report.total_ns, report.attention_ns)
    busy = 3 * dig[0].pmca_utilisation * report.total_ns
    assert without - with_busy == pytest.approx(busy) and busy > 0
