"""Decode over a long KV cache (issue 22 items 1, 2, 3, 7): grouped-query traffic, split-K, the KV
cache beyond the L2 in off-chip memory, and the chips' shared L2 bandwidth."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hw_models as H
from codesign.cli import main
from hw_models import kv, offchip
from hw_models.decode import decode_report
from hw_models.offchip import OffchipSpec
from hw_models.stages import head_cost
from hw_models.workload import network_from_config

LLAMA = H.load_network("llama-3.1-8b")
TINY = network_from_config({"model_type": "llama", "hidden_size": 512, "intermediate_size": 1024,
                            "num_attention_heads": 8, "num_key_value_heads": 2,
                            "num_hidden_layers": 3}, "tiny-llama")
HW = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=512), tokens=8)
LORA = H.LoraSpec(rank=16)


def _hw(hw=HW, chip=None, attention=None, offchip_spec=None):
    return dataclasses.replace(hw, chip=chip or hw.chip, attention=attention or hw.attention,
                               offchip=offchip_spec or hw.offchip)


def _with_l2(hw, **kw):
    return _hw(hw, chip=dataclasses.replace(hw.chip, **kw))


def test_decode_time_grows_with_context():
    times = [decode_report(LLAMA, HW, LORA, s, 16).decode_ns_per_token
             for s in (256, 1024, 2048, 4096, 8192)]
    assert all(a < b for a, b in zip(times, times[1:]))
    tiny = [decode_report(TINY, HW, LORA, s, 4).decode_ns_per_token for s in (64, 512, 4096)]
    assert tiny[0] < tiny[1] < tiny[2]


def test_kv_is_read_once_per_kv_head():
    rep = decode_report(LLAMA, HW, LORA, 2048, 128)
    # 32 blocks x 2 (K, V) x 8 K/V heads x 128 dims x 2 B x keys, mean over 2049 .. 2176 keys
    mean_keys = (2049 + 2176) / 2
    assert rep.decode_kv_read_bytes_per_token == pytest.approx(32 * 2 * 8 * 128 * 2 * mean_keys)
    # at the last token one block reads its whole 8.9 MB cache once, not 4x (32 query heads)
    op = LLAMA.digital_ops[0]
    assert kv.kv_read_bytes(op, 2176, 2) == rep.kv_cache_bytes_per_block == 8_912_896
    # the same model without grouped-query attention reads 4x as much
    mha = dataclasses.replace(LLAMA, block=tuple(
        dataclasses.replace(n, kv_heads=0) if isinstance(n, H.AttentionOp) else n
        for n in LLAMA.block))
    full = decode_report(mha, HW, LORA, 2048, 128)
    assert full.decode_kv_read_bytes_per_token == pytest.approx(
        4 * rep.decode_kv_read_bytes_per_token)
    assert full.attention_ns_per_token > rep.attention_ns_per_token


def test_kv_cache_beyond_the_l2_is_off_chip_and_costs_more():
    base = decode_report(LLAMA, HW, LORA, 2048, 128)
    assert base.kv_cache_fits_l2 and base.kv_cache_offchip_bytes == 0
    tight_hw = _with_l2(HW, l2_kib=256)
    tight = decode_report(LLAMA, tight_hw, LORA, 2048, 128)
    # a block's 832 tiles fill 13 chips: 13 x 256 KiB of L2 per block, the rest off chip
    assert not tight.kv_cache_fits_l2
    assert tight.kv_cache_offchip_bytes == 32 * (8_912_896 - 13 * 256 * 1024)
    assert tight.decode_ns_per_token > base.decode_ns_per_token
    assert tight.decode_energy_pj_per_token > base.decode_energy_pj_per_token
    # the off-chip part is timed at the DRAM's bandwidth: one LPDDR5 pack, 51.2 GB/s
    op, s = LLAMA.digital_ops[0], 2176
    one = dataclasses.replace(tight_hw, tokens=1)
    att = kv.decode_attention(op, one, 96, 13.0, s)
    off = 8_912_896 - 13 * 256 * 1024
    assert att.offchip_bytes == off
    assert att.offchip_ns == pytest.approx(100.0 + off / 51.2)
    assert att.ns >= att.offchip_ns
    # HBM3 (16x the bandwidth) is faster for the same placement; every byte costs its pJ/bit
    hbm = decode_report(LLAMA, _hw(tight_hw, offchip_spec=OffchipSpec.hbm3()), LORA, 2048, 128)
    assert hbm.decode_ns_per_token < tight.decode_ns_per_token
    assert offchip.pj_per_byte(OffchipSpec.hbm3()) == pytest.approx(31.2)


def test_offchip_presets_are_the_jedec_figures():
    lp, hbm = offchip.preset("lpddr5"), offchip.preset("hbm3")
    assert lp.bandwidth_gb_s == 6400e6 * 8 / 1e9          # LPDDR5-6400, 64 bits
    assert hbm.bandwidth_gb_s == pytest.approx(6.4 * 1024 / 8)   # HBM3, 1024 pins at 6.4 Gb/s
    assert offchip.capacity_bytes(dataclasses.replace(hbm, devices=2)) == 32 * 2**30
    with pytest.raises(H.SpecError, match="offchip: must be one of lpddr5, hbm3"):
        offchip.preset("ddr4")


def test_offchip_capacity_is_flagged():
    small = OffchipSpec(capacity_gib=0.25)
    rep = decode_report(LLAMA, _hw(_with_l2(HW, l2_kib=128), offchip_spec=small), LORA, 8192, 8)
    assert rep.kv_cache_offchip_bytes > 0.25 * 2**30 and not rep.kv_cache_fits_offchip


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([256, 2048, 8192]), st.sampled_from(["upstream", "block", "dedicated"]),
       st.tuples(st.integers(1, 64), st.integers(1, 64)))
def test_more_l2_banks_never_slow_decode(prompt, mapping, pair):
    lo, hi = sorted(pair)
    hw = _hw(attention=H.AttentionSpec(mapping=mapping))
    a = decode_report(LLAMA, _with_l2(hw, l2_banks=lo), LORA, prompt, 4)
    b = decode_report(LLAMA, _with_l2(hw, l2_banks=hi), LORA, prompt, 4)
    assert b.decode_ns_per_token <= a.decode_ns_per_token * (1 + 1e-12)


def test_shared_l2_bandwidth_bounds_the_block():
    # 64 clusters' ports (16 B/cycle each) cannot read one 4-bank L2 faster than 32 B/cycle: at
    # 2,176 keys the block's 8.9 MB over 13 chips x 32 B/ns takes ~21 us
    one = dataclasses.replace(HW, tokens=1)
    att = kv.decode_attention(LLAMA.digital_ops[0], one, 96, 13.0, 2176)
    assert att.l2_ns == pytest.approx(8_912_896 / (13 * 32), rel=0.05)
    assert att.ns >= att.l2_ns
    one_bank = decode_report(LLAMA, _with_l2(HW, l2_banks=1), LORA, 2048, 16)
    assert one_bank.decode_ns_per_token > decode_report(LLAMA, HW, LORA, 2048, 16).decode_ns_per_token


def test_split_k_of_one_is_the_unsplit_time():
    wide = _with_l2(dataclasses.replace(HW, tokens=1), l2_banks=1024)
    no_split = _hw(wide, attention=H.AttentionSpec(splits=1))
    for op, clusters in ((LLAMA.digital_ops[0], 96), (TINY.digital_ops[0], 5)):
        g = op.heads // kv.kv_heads(op)
        for s in (1, 65, 2176):
            att = kv.decode_attention(op, no_split, clusters, 13.0, s)
            rounds = math.ceil(kv.kv_heads(op) / clusters)
            assert att.splits == 1 and att.reduce_ns == 0
            assert att.ns == rounds * head_cost(op, no_split, g, s).ns


def test_split_k_uses_the_idle_clusters():
    one = dataclasses.replace(HW, tokens=1)
    op = LLAMA.digital_ops[0]
    # upstream mapping: the Q/K/V layers' 64 + 16 + 16 clusters, 8 K/V heads -> 12 splits
    assert kv.splits(op, one, 96, 2176) == 12
    assert kv.splits(op, one, 96, 100) == 2          # at most one split per 64-key block
    assert kv.splits(op, one, 4, 2176) == 1          # fewer clusters than K/V heads
    split = decode_report(LLAMA, HW, LORA, 2048, 16)
    unsplit = decode_report(LLAMA, _hw(attention=H.AttentionSpec(splits=1)), LORA, 2048, 16)
    assert split.decode_attention_splits == 12 and unsplit.decode_attention_splits == 1
    assert split.decode_ns_per_token < unsplit.decode_ns_per_token
    # the split partials' reduction is timed and costed
    att = kv.decode_attention(op, one, 96, 13.0, 2176)
    assert att.reduce_ns > 0
    assert kv.reduce_cost(op, one, 12, 96)[1] > 0


@pytest.mark.parametrize("field, value, where", [
    (lambda v: H.ChipSpec(l2_banks=v), 0, "l2_banks"),
    (lambda v: H.ChipSpec(l2_bank_bytes_per_cycle=v), 0.0, "l2_bank_bytes_per_cycle"),
    (lambda v: H.AttentionSpec(splits=v), -1, "splits"),
    (lambda v: OffchipSpec(bandwidth_gb_s=v), 0.0, "bandwidth_gb_s"),
    (lambda v: OffchipSpec(pj_per_bit=v), float("nan"), "pj_per_bit"),
    (lambda v: OffchipSpec(devices=v), 0, "devices"),
])
def test_bad_fields_name_themselves(field, value, where):
    with pytest.raises(H.SpecError, match=f"^{where}: "):
        field(value)


@pytest.mark.parametrize("flags, flag", [(["--l2-banks", "0"], "--l2-banks"),
                                         (["--attention-splits", "-1"], "--attention-splits"),
                                         (["--offchip", "ddr4"], "--offchip")])
def test_bad_flags_are_one_line_and_exit_2(capsys, flags, flag):
    with pytest.raises(SystemExit) as exc:
        main(["latency", "--model", "llama-3.1-8b", "--seq-len", "64", "--generate", "2", *flags])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err


def test_flags_reach_the_decode_figures(capsys):
    import json

    def run(*flags):
        assert main(["latency", "--model", "llama-3.1-8b", "--rank", "16", "--tokens", "8",
                     "--seq-len", "4096", "--generate", "4", "--engine", "closed_form", "--json",
                     *flags]) == 0
        return json.loads(capsys.readouterr().out)

    base = run()
    assert base["kv_cache_offchip_bytes"] > 0 and base["decode_kv_read_bytes_per_token"] > 0
    assert run("--offchip", "hbm3")["decode_ns_per_token"] < base["decode_ns_per_token"]
    assert run("--l2-banks", "1")["decode_ns_per_token"] > base["decode_ns_per_token"]
    assert run("--attention-splits", "1")["decode_ns_per_token"] > base["decode_ns_per_token"]
    assert np.isclose(run("--attention-splits", "0")["decode_ns_per_token"],
                      base["decode_ns_per_token"])


def test_kv_cache_leaves_the_l2_at_13_mib_per_block():
    # a block's 13 chips hold 13 MiB of L2; LLaMA adds 2 x 8 x 128 x 2 B = 4 KiB per token and
    # block: 13 MiB / 4 KiB = 3,328 tokens fit
    at = decode_report(LLAMA, HW, LORA, 3300, 28)
    over = decode_report(LLAMA, HW, LORA, 3300, 29)
    assert at.kv_cache_fits_l2 and at.kv_cache_offchip_bytes == 0
    assert not over.kv_cache_fits_l2 and over.kv_cache_offchip_bytes == 32 * 4096


def test_offchip_bytes_cost_their_pj_per_bit():
    one = _with_l2(dataclasses.replace(HW, tokens=1), l2_kib=256)
    op = LLAMA.digital_ops[0]
    a = kv.decode_attention(op, one, 96, 13.0, 2176)
    b = kv.decode_attention(op, _hw(one, offchip_spec=OffchipSpec(pj_per_bit=5.5)), 96, 13.0,
                            2176)
    # 1 pJ/bit more: 8 pJ more per off-chip byte, nothing else moves
    assert a.offchip_bytes == b.offchip_bytes > 0
    assert b.energy_pj - a.energy_pj == pytest.approx(8.0 * a.offchip_bytes, rel=1e-9)
    assert b.ns == a.ns
