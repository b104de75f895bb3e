"""Every knob moves the metrics physics says it moves, over every shipped network and both engines.

Hypothesis properties of whole networks: adapters never make a network faster or cheaper; more
converter bits, longer integration and a higher rank never make it faster or cheaper; the event
simulation equals the closed form wherever nothing contends, and is never faster than it.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hw_models as H
from hw_models import memory

NETWORKS = {name: H.load_network(name) for name in H.NETWORKS}
#: short sequences keep the decoder's event simulation fast; encoders use the paper's length
SEQ = {"llama-3.1-8b": 64, "mobilebert": 320, "bert-base": 128, "bert-large": 128,
       "minilm-l6": 128}
SETTINGS = settings(max_examples=25, deadline=None)

networks = st.sampled_from(sorted(NETWORKS))
engines = st.sampled_from(H.ENGINES)
mappings = st.sampled_from(["upstream", "block", "qkv", "dedicated"])
tokens = st.sampled_from([1, 8, 16, 32])
tints = st.sampled_from([128.0, 256.0, 512.0])
ranks = st.sampled_from([1, 4, 8, 16])
placements = st.sampled_from(["all", "qkv", "ffn", "attention"])
bits = st.integers(4, 8)


def _hw(tint=256.0, t=8, mapping="upstream", adc=8, dac=8, **pmca):
    return H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=tint, adc_bits=adc, dac_bits=dac),
                          pmca=H.PmcaSpec(**pmca), tokens=t,
                          attention=H.AttentionSpec(mapping=mapping))


def _eval(name, hw, lora, engine):
    return H.evaluate_network(NETWORKS[name], hw, lora, seq_len=SEQ[name], engine=engine)


@SETTINGS
@given(networks, engines, mappings, tokens, tints, ranks, placements)
def test_adapters_never_make_a_network_faster_or_cheaper(name, engine, mapping, t, tint, r, pl):
    hw = _hw(tint, t, mapping)
    rep = _eval(name, hw, H.LoraSpec(rank=r, placement=pl), engine)
    none = _eval(name, hw, H.LoraSpec(rank=0, placement="none"), engine)
    assert rep.aimc_only_ns == pytest.approx(none.total_ns, rel=1e-12)
    assert rep.total_ns >= none.total_ns * (1 - 1e-12)
    assert rep.overhead >= 1 - 1e-12
    assert rep.energy_pj >= none.energy_pj


@SETTINGS
@given(networks, engines, mappings, tokens, st.tuples(ranks, ranks))
def test_rank_never_makes_a_network_faster_or_cheaper(name, engine, mapping, t, pair):
    lo, hi = sorted(pair)
    hw = _hw(256.0, t, mapping)
    a = _eval(name, hw, H.LoraSpec(rank=lo), engine)
    b = _eval(name, hw, H.LoraSpec(rank=hi), engine)
    assert a.total_ns <= b.total_ns * (1 + 1e-12)
    assert a.energy_pj <= b.energy_pj
    assert a.adapter_params <= b.adapter_params


@SETTINGS
@given(networks, engines, tokens, st.tuples(tints, tints))
def test_integration_time_costs_latency_and_energy(name, engine, t, pair):
    lo, hi = sorted(pair)
    a = _eval(name, _hw(lo, t), H.LoraSpec(rank=8), engine)
    b = _eval(name, _hw(hi, t), H.LoraSpec(rank=8), engine)
    assert a.total_ns <= b.total_ns * (1 + 1e-12) and a.energy_pj <= b.energy_pj
    if hi > lo:
        assert a.energy_pj < b.energy_pj     # the array integrates longer


@SETTINGS
@given(networks, engines, tokens, st.tuples(bits, bits), st.sampled_from(["adc", "dac"]))
def test_converter_bits_cost_latency_and_energy(name, engine, t, pair, which):
    lo, hi = sorted(pair)
    a = _eval(name, _hw(t=t, **{which: lo}), H.LoraSpec(rank=8), engine)
    b = _eval(name, _hw(t=t, **{which: hi}), H.LoraSpec(rank=8), engine)
    assert a.total_ns <= b.total_ns * (1 + 1e-12) and a.energy_pj <= b.energy_pj
    if hi > lo:
        assert a.energy_pj < b.energy_pj


@SETTINGS
@given(networks, tokens, ranks, st.sampled_from(["upstream", "block", "qkv"]))
def test_event_simulation_never_beats_the_closed_form(name, t, r, mapping):
    hw, lora = _hw(t=t, mapping=mapping), H.LoraSpec(rank=r)
    des, cf = _eval(name, hw, lora, "des"), _eval(name, hw, lora, "closed_form")
    assert des.total_ns >= cf.total_ns * (1 - 1e-12)


@SETTINGS
@given(networks, tokens, ranks, tints)
def test_event_simulation_equals_closed_form_without_contention(name, t, r, tint):
    # dedicated attention clusters: nothing shares a server
    hw, lora = _hw(tint, t, "dedicated"), H.LoraSpec(rank=r)
    des, cf = _eval(name, hw, lora, "des"), _eval(name, hw, lora, "closed_form")
    assert des.total_ns == pytest.approx(cf.total_ns, rel=1e-12)
    assert des.aimc_only_ns == pytest.approx(cf.aimc_only_ns, rel=1e-12)


@pytest.mark.parametrize("name", ["mobilebert", "bert-base", "minilm-l6"])
def test_encoders_upstream_attention_does_not_contend(name):
    # the layers before attention are done when an encoder's barrier passes
    hw, lora = _hw(t=16), H.LoraSpec(rank=8)
    des, cf = _eval(name, hw, lora, "des"), _eval(name, hw, lora, "closed_form")
    assert des.total_ns == pytest.approx(cf.total_ns, rel=1e-12)


def test_tcdm_and_clock_move_what_they_should():
    net, lora = "bert-base", H.LoraSpec(rank=8)
    small = _eval(net, _hw(t=64, tcdm_kib=32), lora, "des")
    big = _eval(net, _hw(t=64, tcdm_kib=512), lora, "des")
    assert big.total_ns <= small.total_ns
    assert not small.tcdm_fits and big.tcdm_fits
    # energy can go either way: a larger TCDM saves the overflow's L2 traffic, but each of its
    # accesses and its leakage cost more (CACTI)
    assert big.area_mm2 > small.area_mm2 and big.static_power_mw > small.static_power_mw
    slow = _eval(net, _hw(t=64, clock_ghz=0.5), lora, "des")
    fast = _eval(net, _hw(t=64, clock_ghz=1.0), lora, "des")
    assert fast.total_ns < slow.total_ns


def test_llama_adapters_cost_time_at_the_reported_point():
    # LLaMA-3.1-8B, rank 16, t = 8, 512 ns, 2048 tokens: the network without adapters was once
    # slower than with them (0.9915x) under a FIFO order on the shared PMCAs
    hw = _hw(512.0, 8)
    rep = H.evaluate_network(NETWORKS["llama-3.1-8b"], hw, H.LoraSpec(rank=16), seq_len=2048)
    assert rep.overhead > 1.0


def test_attention_mapping_changes_attention_only():
    net = NETWORKS["mobilebert"]
    lora = H.LoraSpec(rank=8)
    reps = {m: H.evaluate_network(net, _hw(mapping=m), lora) for m in
            ("upstream", "block", "qkv", "dedicated")}
    # more clusters for attention: no slower without contention (encoder, closed form)
    cf = {m: H.evaluate_network(net, _hw(mapping=m), lora, engine="closed_form").total_ns
          for m in reps}
    assert cf["block"] <= cf["upstream"] <= cf["qkv"]
    # the attention work is the same wherever it runs; only K and V, kept in the TCDM, are
    # loaded once per group of clusters: `block` has 15 clusters for 4 heads, 3 groups, so two
    # more loads of each head's 320 x 32 K and V (FP16) from the L2 over the link into the TCDM
    # per block. Leakage follows the latency, and dedicated clusters add silicon
    assert all(r.attention_kv_resident for r in reps.values())
    same = {round(reps[m].dynamic_energy_pj) for m in ("upstream", "qkv", "dedicated")}
    assert len(same) == 1
    hw = _hw(mapping="block")
    kv_load = 2 * 320 * 32 * 2 * (memory.l2_pj_per_byte(hw) + memory.link_pj_per_byte(hw.pmca)
                                  + memory.tcdm_pj_per_byte(hw.pmca))
    assert reps["block"].dynamic_energy_pj - reps["upstream"].dynamic_energy_pj == \
        pytest.approx(2 * 4 * 24 * kv_load)
    assert reps["dedicated"].pmca_clusters == reps["upstream"].pmca_clusters + 24 * 4
    assert reps["dedicated"].area_mm2 > reps["upstream"].area_mm2
    with pytest.raises(H.SpecError, match="mapping"):
        H.AttentionSpec(mapping="everywhere")
    assert dataclasses.replace(H.AttentionSpec(), dedicated_clusters=8).dedicated_clusters == 8
