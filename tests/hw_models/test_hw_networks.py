"""Networks from configs, placements, adapter sizes and calibration."""

from __future__ import annotations

import json

import pytest

import hw_models as H
from hw_models.calibration import PAPER_OVERHEADS, PAPER_RATIOS, calibration_rows, fit

def test_shipped_networks_and_shapes():
    mb = H.load_network("mobilebert")
    assert mb.num_hidden_layers == 24 and mb.linear_count == 1 + 24 * 15
    shapes = {(L.name, L.m, L.n) for L in mb.layers}
    assert ("attention.self.query", 128, 128) in shapes
    assert ("attention.self.value", 512, 128) in shapes
    assert ("embeddings.embedding_transformation", 384, 512) in shapes
    assert ("output.bottleneck.dense", 128, 512) in shapes
    llama = H.load_network("llama-3.1-8b")
    assert {(L.name, L.m, L.n) for L in llama.layers} >= {
        ("self_attn.k_proj", 4096, 1024), ("mlp.down_proj", 14336, 4096)}
    assert llama.digital_ops[0].causal and not mb.digital_ops[0].causal


@pytest.mark.parametrize("name, placement, rank, params", [
    ("mobilebert", "all", 8, 1.63e6),     # paper Table 2: 1.63 M
    ("mobilebert", "qkv", 8, 0.22e6),     # 0.22 M
    ("mobilebert", "all", 16, 3.27e6),    # 3.27 M
    ("bert-base", "all", 8, 1.3e6),       # fig. 3b: 1.3 M
    ("bert-large", "all", 8, 3.5e6),      # 3.5 M
])
def test_adapter_params_match_paper(name, placement, rank, params):
    net = H.load_network(name)
    got = net.adapter_params(rank, H.roles(placement))
    assert got == pytest.approx(params, rel=0.03)   # the paper rounds to 2-3 digits


def test_llama_rank16_is_half_a_percent():
    assert H.load_network("llama-3.1-8b").adapter_params(16, H.roles("all")) / 8.03e9 == \
        pytest.approx(0.0052, abs=0.0002)


def test_config_path_and_errors(tmp_path):
    cfg = tmp_path / "tiny" / "config.json"
    cfg.parent.mkdir()
    cfg.write_text(json.dumps({"model_type": "bert", "hidden_size": 64, "intermediate_size": 128,
                               "num_attention_heads": 2, "num_hidden_layers": 2}))
    net = H.load_network(str(cfg.parent))
    assert net.name == "tiny" and net.linear_count == 12
    with pytest.raises(H.SpecError, match="mobilebert"):
        H.load_network("gpt-17")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model_type": "t5", "d_model": 4}))
    with pytest.raises(H.SpecError, match="model_type"):
        H.load_network(str(bad))
    bad.write_text(json.dumps({"model_type": "bert", "hidden_size": -1}))
    with pytest.raises(H.SpecError, match="hidden_size"):
        H.load_network(str(bad))


def test_placement_selects_roles_and_bad_input():
    net = H.load_network("bert-base")
    hw = H.HardwareSpec(tokens=16)
    rep = H.evaluate_network(net, hw, H.LoraSpec(rank=4, placement="ffn"), seq_len=64,
                             engine="closed_form")
    assert {L.role for L in rep.layers if L.rank} == {"ffn_in", "ffn_out"}
    assert rep.adapter_params == net.adapter_params(4, {"ffn_in", "ffn_out"})
    none = H.evaluate_network(net, hw, H.LoraSpec(rank=4, placement="none"), seq_len=64)
    assert none.overhead == pytest.approx(1.0) and none.adapter_params == 0
    with pytest.raises(H.SpecError, match="placement"):
        H.LoraSpec(placement="everything")
    with pytest.raises(H.SpecError, match="tokens"):
        H.evaluate_network(net, H.HardwareSpec(tokens=128), H.LoraSpec(), seq_len=64)
    json.dumps(rep.to_dict())
    assert set(rep.contract()) == set(H.CONTRACT_KEYS) | {"layers"}


def test_tcdm_overflow_in_a_network_is_reported_not_raised():
    net = H.load_network("bert-base")
    rep = H.evaluate_network(net, H.HardwareSpec(pmca=H.PmcaSpec(tcdm_kib=16), tokens=64),
                             H.LoraSpec(rank=8), seq_len=128)
    assert not rep.tcdm_fits and any(L.l2_bytes > 0 for L in rep.layers)
    roomy = H.evaluate_network(net, H.HardwareSpec(pmca=H.PmcaSpec(tcdm_kib=512), tokens=64),
                               H.LoraSpec(rank=8), seq_len=128)
    assert roomy.tcdm_fits and roomy.total_ns <= rep.total_ns


def test_calibration_fit_matches_shipped_constants():
    pmca = H.PmcaSpec()
    got = fit(pmca)
    assert got["offload_cycles"] == pytest.approx(pmca.offload_cycles, rel=0.02)
    assert got["redmule_tile_cycles"] == pytest.approx(pmca.redmule_tile_cycles, rel=0.02)
    assert got["link_bytes_per_cycle"] == pytest.approx(pmca.link_bytes_per_cycle, rel=0.05)


def test_calibrated_model_reproduces_paper():
    rows = calibration_rows()
    for r in rows:
        if r["paper"] is None:
            continue
        tol = 0.05 if r["figure"] == "TCDM KiB" else 0.02
        assert r["model_roomy"] == pytest.approx(r["paper"], rel=tol), r
    assert len([r for r in rows if r["layer"] == "512x128" and r["paper"]]) == \
        len(PAPER_RATIOS) + len(PAPER_OVERHEADS) + 2
