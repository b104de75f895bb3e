"""Hypothesis properties of the latency model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import hw_models as H
from hw_models.stages import chunk_sizes

dims = st.sampled_from([64, 128, 384, 512, 768, 1024])
tokens = st.sampled_from([1, 3, 8, 16, 32, 64, 128])
tints = st.sampled_from([32.0, 64.0, 128.0, 200.0, 256.0, 512.0])
ranks = st.integers(0, 32)
tcdm = st.sampled_from([16, 64, 128, 512])
fma = st.sampled_from([0, 8, 32, 64])

FAST = settings(max_examples=40, deadline=None)


def _hw(tint, t, kib=128, redmule=32):
    return H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=tint),
                          pmca=H.PmcaSpec(tcdm_kib=kib, redmule_fma=redmule), tokens=t)


@FAST
@given(dims, dims, tints, tokens, ranks, tcdm, fma)
def test_layer_latency_at_least_slowest_stage(m, n, tint, t, r, kib, redmule):
    rep = H.layer_closed_form(m, n, _hw(tint, t, kib, redmule), r, seq_len=320)
    chunks = len(chunk_sizes(320, t))
    full = 320 // t
    assert rep.total_ns >= full * max(rep.aimc_ns, rep.pmca_ns) * (1 - 1e-12)
    assert rep.total_ns >= rep.aimc_only_ns * (1 - 1e-12)
    assert rep.overhead >= 1.0 - 1e-12
    assert chunks * rep.aimc_ns >= rep.tile_only_ns - 1e-6
    assert rep.aimc_only_ns >= rep.tile_only_ns - 1e-6   # the readout comes on top of the tiles


@FAST
@given(dims, dims, tokens, ranks, tcdm, st.tuples(tints, tints))
def test_layer_monotone_in_integration_time(m, n, t, r, kib, pair):
    lo, hi = sorted(pair)
    a = H.layer_closed_form(m, n, _hw(lo, t, kib), r).total_ns
    b = H.layer_closed_form(m, n, _hw(hi, t, kib), r).total_ns
    assert a <= b * (1 + 1e-12)


@FAST
@given(dims, dims, tints, tokens, st.tuples(ranks, ranks))
def test_layer_monotone_in_rank(m, n, tint, t, pair):
    lo, hi = sorted(pair)
    hw = _hw(tint, t)
    assert H.layer_closed_form(m, n, hw, lo).total_ns <= \
        H.layer_closed_form(m, n, hw, hi).total_ns * (1 + 1e-12)


NET = H.load_network("minilm-l6")


@settings(max_examples=12, deadline=None)
@given(st.sampled_from([8, 16, 32, 64]), st.tuples(tints, tints), st.sampled_from([1, 4, 16]),
       st.sampled_from(["all", "qkv", "ffn"]), st.sampled_from(["des", "closed_form"]))
def test_network_overhead_and_monotone(t, pair, r, placement, engine):
    lo, hi = sorted(pair)
    lora = H.LoraSpec(rank=r, placement=placement)
    a = H.evaluate_network(NET, _hw(lo, t), lora, seq_len=128, engine=engine)
    b = H.evaluate_network(NET, _hw(hi, t), lora, seq_len=128, engine=engine)
    assert a.overhead >= 1.0 - 1e-12 and b.overhead >= 1.0 - 1e-12
    assert a.total_ns <= b.total_ns * (1 + 1e-12)
    chunks = len(chunk_sizes(128, t))
    # never below the slowest single stage: any layer's tile time over all chunks
    assert a.total_ns >= max(L.aimc_ns for L in a.layers) * chunks
