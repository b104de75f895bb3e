"""Issue 21, items 6 and 8: a run without adapters has overhead exactly 1.0 (layer and network,
every shipped network, tile preset and engine)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import hw_models as H
from hw_models.closed_form import layer_report
from hw_models.decode import decode_report
from hw_models.plan import Plan, linear_plan
from hw_models.stages import chunk_sizes

NETWORKS = {name: H.load_network(name) for name in H.NETWORKS}
#: short sequences keep the decoder's event simulation fast; encoders use the paper's length
SEQ = {"llama-3.1-8b": 64, "mobilebert": 320, "bert-base": 128, "bert-large": 128,
       "minilm-l6": 128}
TILES = {"default": H.AimcTileSpec, "paper": H.AimcTileSpec.paper,
         "hermes": H.AimcTileSpec.hermes}

networks = st.sampled_from(sorted(NETWORKS))
tiles = st.sampled_from(sorted(TILES))
engines = st.sampled_from(H.ENGINES)
mappings = st.sampled_from(["upstream", "block", "qkv", "dedicated"])
tokens = st.sampled_from([1, 3, 8, 16, 32])
tints = st.sampled_from([128.0, 256.0, 512.0])
#: no adapter: rank 0 (any placement), or a rank on an empty placement
no_adapter = st.one_of(st.builds(H.LoraSpec, rank=st.just(0),
                                 placement=st.sampled_from(["all", "qkv", "ffn", "none"])),
                       st.builds(H.LoraSpec, rank=st.sampled_from([1, 8, 16]),
                                 placement=st.just("none")))


def _hw(tile, tint, t, mapping="upstream"):
    return H.HardwareSpec(aimc=TILES[tile](integration_ns=tint), tokens=t,
                          attention=H.AttentionSpec(mapping=mapping))


def _layer_des_total(m, n, hw, rank, seq_len) -> float:
    """One layer alone through the event simulation (as `codesign latency --layer --engine des`)."""
    sizes = chunk_sizes(seq_len, hw.tokens)
    lp = linear_plan(H.LinearLayer(f"{m}x{n}", "other", m, n), hw, rank, sizes)
    return H.network_latency(Plan(tuple(sizes), (lp,), (), 0), "des")


@settings(max_examples=30, deadline=None)
@given(networks, tiles, engines, mappings, tokens, tints, no_adapter)
def test_network_without_adapters_has_overhead_exactly_one(name, tile, engine, mapping, t, tint,
                                                          lora):
    net, seq = NETWORKS[name], SEQ[name]
    rep = H.evaluate_network(net, _hw(tile, tint, t, mapping), lora, seq_len=seq, engine=engine)
    assert rep.overhead == 1.0 and rep.total_ns == rep.aimc_only_ns
    assert all(L.overhead == 1.0 and L.rank == 0 for L in rep.layers)


@settings(max_examples=40, deadline=None)
@given(networks, tiles, engines, tokens, tints, st.data())
def test_layer_without_adapter_has_overhead_exactly_one(name, tile, engine, t, tint, data):
    """Every layer shape of every shipped network, alone (`codesign latency --layer`) and as in
    the network (inputs moved in, post-ops, Q/K/V written back)."""
    layer = data.draw(st.sampled_from(NETWORKS[name].layers))
    seq = SEQ[name]
    hw = _hw(tile, tint, t)
    alone = H.layer_closed_form(layer.m, layer.n, hw, 0, seq_len=seq)
    assert alone.overhead == 1.0 and alone.aimc_only_ns == alone.total_ns
    if engine == "des":
        des = _layer_des_total(layer.m, layer.n, hw, 0, seq)
        assert des / alone.aimc_only_ns == 1.0
    in_net = layer_report(layer, hw, 0, seq, with_post=True, network=True,
                          writeback=data.draw(st.booleans()))
    assert in_net.overhead == 1.0
    # with an adapter the same layer is never faster than without it
    adapted = H.layer_closed_form(layer.m, layer.n, hw, 8, seq_len=seq)
    assert adapted.aimc_only_ns == alone.total_ns and adapted.overhead >= 1.0


def test_decode_without_adapters_has_overhead_exactly_one():
    for tile in TILES:
        rep = decode_report(NETWORKS["llama-3.1-8b"], _hw(tile, 256.0, 8),
                            H.LoraSpec(rank=0), 64, 4)
        assert rep.decode_overhead == 1.0


def test_rank_zero_overhead_was_not_one_before():
    """The bare-tile baseline (the paper's) is below the adapter-free pipeline by the readout:
    the 1.06x / 1.24x that a rank-0 layer used to report."""
    r = H.layer_closed_form(512, 128, H.HardwareSpec(tokens=8), 0)
    assert r.total_ns / r.tile_only_ns == np.float64(91200 / 86080)
    assert r.overhead == 1.0
