"""LLMs across chips: chip links, the LM head, batched decode and encoder throughput (issue 22,
items 4-6)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hw_models as H
from hw_models.chips import decode_links, hop, layout, prefill_links
from hw_models.decode import decode_report
from hw_models.system_specs import LinkSpec, LmHeadSpec, link_preset
from hw_models.throughput import encoder_throughput
from hw_models.workload import network_from_config

LLAMA = H.load_network("llama-3.1-8b")
LORA = H.LoraSpec(rank=16)
HW = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=512), tokens=8)
#: a small decoder with a vocabulary whose blocks span several 8-tile chips
SMALL = network_from_config({"model_type": "llama", "hidden_size": 1024,
                             "intermediate_size": 2048, "num_attention_heads": 8,
                             "num_key_value_heads": 2, "num_hidden_layers": 2,
                             "vocab_size": 4096}, "small-llama")


def _chips(per_chip: int, hw=HW):
    return dataclasses.replace(hw, chip=dataclasses.replace(hw.chip, tiles_per_chip=per_chip))


def test_llama_lm_head_tiles_and_chips_are_counted():
    rep = decode_report(LLAMA, HW, LORA, prompt_len=2048, generate=4)
    # 4096 x 128,256 on 512 x 512 tiles: 8 row tiles x 251 column tiles
    assert rep.lm_head_tiles == 8 * 251 == 2008
    # 26,624 tiles of the 32 blocks + 2,008 -> 448 chips of 64 (416 without the head)
    assert rep.decode_chips == math.ceil((26624 + 2008) / 64) == 448
    none = dataclasses.replace(HW, lm_head=LmHeadSpec(placement="none"))
    bare = decode_report(LLAMA, none, LORA, prompt_len=2048, generate=4)
    assert bare.lm_head_tiles == 0 and bare.decode_chips == 416
    assert bare.lm_head_ns_per_token == 0.0
    # the head runs once per token: it adds time and energy (its leakage on 32 more chips too)
    assert rep.decode_ns_per_token > bare.decode_ns_per_token
    assert rep.decode_static_energy_pj_per_token > bare.decode_static_energy_pj_per_token


def test_digital_lm_head_streams_its_weights_every_token():
    hw = dataclasses.replace(HW, lm_head=LmHeadSpec(placement="digital"))
    rep = decode_report(LLAMA, hw, LORA, prompt_len=2048, generate=4)
    assert rep.lm_head_tiles == 0 and rep.decode_chips == 416
    # 4096 x 128,256 FP16 weights (1.05 GB) over 51.2 GB/s: at least 20.5 ms per token
    assert rep.lm_head_ns_per_token >= 4096 * 128256 * 2 / 51.2
    assert rep.lm_head_ns_per_token == pytest.approx(20.5e6, rel=0.02)
    # the weights are in hardware.offchip: on an HBM3 stack (819.2 GB/s) 16x faster, 3.9 pJ/bit
    hbm = decode_report(LLAMA, dataclasses.replace(hw, offchip=H.OffchipSpec.hbm3()), LORA,
                        prompt_len=2048, generate=4)
    assert hbm.lm_head_ns_per_token == pytest.approx(100 + 4096 * 128256 * 2 / 819.2, rel=0.01)
    assert rep.decode_energy_pj_per_token - rep.decode_static_energy_pj_per_token \
        - (hbm.decode_energy_pj_per_token - hbm.decode_static_energy_pj_per_token) \
        == pytest.approx(4096 * 128256 * 2 * 8 * (4.5 - 3.9), rel=0.01)
    # its weight stream loads the DRAM that holds the off-chip K/V: the batch's bottleneck
    assert rep.kv_cache_offchip_bytes == 0 and rep.saturation_resource == "off-chip memory"


def test_more_chips_in_a_block_more_link_time():
    times = []
    for per_chip in (832, 208, 64, 16):   # a LLaMA block on 1, 4, 13 and 52 chips
        rep = decode_report(LLAMA, _chips(per_chip), LORA, prompt_len=512, generate=2)
        times.append(rep.decode_interchip_ns_per_token)
    assert times == sorted(times) and times[0] < times[-1]
    # a whole block on one chip: only the hops into the next block (31 x (2 ns + 8 KiB over
    # 256 GB/s)) and into the LM head's 3 chips (2 ns + 3 x 32 ns from one port) remain
    assert times[0] == pytest.approx(31 * (2 + 4096 * 2 / 256) + 2 + 3 * 4096 * 2 / 256)


def test_link_time_follows_the_link_spec():
    ucie = decode_report(LLAMA, HW, LORA, prompt_len=512, generate=2)
    board = decode_report(LLAMA, dataclasses.replace(HW, link=link_preset("board")), LORA,
                          prompt_len=512, generate=2)
    assert board.decode_interchip_ns_per_token > 10 * ucie.decode_interchip_ns_per_token
    assert board.decode_interchip_bytes_per_token == ucie.decode_interchip_bytes_per_token
    assert board.decode_energy_pj_per_token > ucie.decode_energy_pj_per_token


def test_hop_sends_each_consumer_chip_the_slices_it_lacks():
    hw = HW   # 256 GB/s, 2 ns
    assert hop(8192, {0}, {0}, hw).bytes == 0
    h = hop(8192, {0}, {0, 1, 2}, hw)   # two other chips each get the whole vector
    assert h.bytes == 2 * 8192 and h.ns == pytest.approx(2.0 + 2 * 8192 / 256)
    h = hop(8192, {0, 1}, {0, 1}, hw)   # each chip gets the other's half
    assert h.bytes == 8192


def test_kv_read_from_other_chips_pays_the_link():
    # upstream attention on the Q/K/V chips of a 13-chip LLaMA block: 11/13 of its K/V
    # (32 blocks x 2 x 8 K/V heads x 128 x 2 B per key) come over the links
    contexts = [1000, 2000]
    import numpy as np
    attn = {"attention": np.zeros(2)}
    up = decode_links(LLAMA, HW, np.array(contexts), attn)
    kv = 32 * 2 * 8 * 128 * 2 * np.array(contexts) * 11 / 13
    assert up.bytes - up.activation_bytes == pytest.approx(kv)
    block = dataclasses.replace(HW, attention=H.AttentionSpec(mapping="block"))
    spread = decode_links(LLAMA, block, np.array(contexts), attn)
    assert spread.bytes == pytest.approx([spread.activation_bytes] * 2)
    # beyond the 13 chips' 13 MiB of L2 (3,328 keys) the rest is off chip, not on a link
    far = decode_links(LLAMA, HW, np.array([8192]), {"attention": np.zeros(1)})
    assert far.bytes - far.activation_bytes == pytest.approx(32 * 13 * 2**20 * 11 / 13)


def test_layout_fills_chips_in_network_order():
    blocks, head = layout(LLAMA, HW)
    assert blocks[1]["self_attn.q_proj"].first == 832 and head is not None
    assert head.first == 32 * 832 and head.tiles == 2008


def test_tokens_per_s_grows_with_batch_until_saturation_and_energy_falls():
    # batches whose KV caches all fit the L2 (16 x 260 KiB per block in 4.5 chips' 4.5 MiB)
    reps = [decode_report(SMALL, _chips(8), LORA, prompt_len=256, generate=4, batch=b)
            for b in (1, 2, 4, 8, 16)]
    assert all(r.batch_kv_fits_l2 and r.kv_cache_offchip_bytes == 0 for r in reps)
    sat = reps[0].saturation_batch
    assert 1 < sat < 16 and reps[0].saturation_resource == "attention"
    rates = [r.tokens_per_s for r in reps]
    assert all(b >= a * (1 - 1e-12) for a, b in zip(rates, rates[1:]))
    for r in reps:
        if r.batch < sat:   # below saturation every sequence keeps its own pace
            assert r.tokens_per_s == pytest.approx(r.batch * reps[0].tokens_per_s, rel=1e-9)
            assert r.decode_ns_per_token == pytest.approx(r.single_ns_per_token)
    assert rates[-1] == pytest.approx(rates[-2], rel=1e-9)   # flat once saturated
    energy = [r.decode_energy_pj_per_token for r in reps]
    static = [r.decode_static_energy_pj_per_token for r in reps]
    assert all(b <= a for a, b in zip(energy, energy[1:])) and energy[-1] < energy[0]
    # leakage shared over the batch: halves per doubling below saturation
    assert static[1] == pytest.approx(static[0] / 2, rel=1e-9)
    dynamic = [e - s for e, s in zip(energy, static)]
    assert dynamic == pytest.approx([dynamic[0]] * len(dynamic))


def test_batch_caches_beyond_the_l2_spill_off_chip():
    """B sequences share a block's L2: each keeps 1 / B of it and the rest of its cache is off
    chip, where every sequence's reads share the DRAM's bandwidth."""
    batches = (16, 32, 64, 128, 1024)
    reps = [decode_report(SMALL, _chips(8), LORA, prompt_len=256, generate=4, batch=b)
            for b in batches]
    # a block's 36 tiles fill 4.5 chips of 8: 4.5 MiB of L2; 260 keys x 1 KiB per block
    per_block = 260 * 2 * 2 * 128 * 2
    assert reps[0].kv_cache_bytes_per_block == per_block
    for b, r in zip(batches, reps):   # per sequence, both blocks
        assert r.kv_cache_offchip_bytes == round(2 * max(0.0, per_block - 4.5 * 2**20 / b))
        assert r.batch_kv_fits_l2 == (r.kv_cache_offchip_bytes == 0) == (b == 16)
    spilled = [r.kv_cache_offchip_bytes for r in reps]
    assert all(b > a for a, b in zip(spilled, spilled[1:]))
    # one LPDDR5 pack (51.2 GB/s) becomes the bottleneck: tokens/s falls, energy per token rises
    assert reps[-1].saturation_resource == "off-chip memory"
    assert reps[-1].tokens_per_s < reps[0].tokens_per_s
    assert reps[-1].decode_energy_pj_per_token > reps[0].decode_energy_pj_per_token
    # with DRAM bandwidth to spare the attention clusters stay the bottleneck
    wide = dataclasses.replace(_chips(8), offchip=H.OffchipSpec(devices=4096))
    fast = decode_report(SMALL, wide, LORA, prompt_len=256, generate=4, batch=1024)
    assert fast.saturation_resource == "attention"
    assert fast.kv_cache_offchip_bytes == reps[-1].kv_cache_offchip_bytes
    assert fast.tokens_per_s > reps[-1].tokens_per_s


@settings(max_examples=15, deadline=None)
@given(st.tuples(st.integers(1, 2048), st.integers(1, 2048)))
def test_batch_properties_hold_for_any_two_batches(pair):
    """For any B1 < B2: the off-chip part of each cache never shrinks; while both batches' caches
    fit the L2 (nothing saturates but a stage), tokens/s does not fall and energy per token does
    not rise."""
    lo, hi = sorted(pair)
    a, b = (decode_report(SMALL, _chips(8), LORA, prompt_len=256, generate=4, batch=n)
            for n in (lo, hi))
    assert b.kv_cache_offchip_bytes >= a.kv_cache_offchip_bytes
    if b.batch_kv_fits_l2:
        assert a.batch_kv_fits_l2
        assert b.tokens_per_s >= a.tokens_per_s * (1 - 1e-12)
        assert b.decode_energy_pj_per_token <= a.decode_energy_pj_per_token * (1 + 1e-12)


def test_llama_batch_of_16_spills_its_caches():
    """LLaMA-3.1-8B at 2,048 + 8 tokens: one cache (8.0 MiB per block) fits a block's 13 MiB of
    L2, sixteen do not: each sequence keeps 13/16 MiB per block, the rest (7.2 MiB) is off chip,
    and every generated token reads 32 x 7.2 MiB (242 MB) from one LPDDR5 pack: 51.2 GB/s / 242
    MB = 211 tokens/s for the whole batch, fewer than one sequence alone."""
    one = decode_report(LLAMA, HW, LORA, prompt_len=2048, generate=8, batch=1)
    sixteen = decode_report(LLAMA, HW, LORA, prompt_len=2048, generate=8, batch=16)
    per_block = 2056 * 4096
    assert one.kv_cache_offchip_bytes == 0 and one.kv_cache_fits_l2
    assert sixteen.kv_cache_offchip_bytes == 32 * (per_block - 13 * 2**20 // 16)
    assert not sixteen.kv_cache_fits_l2 and not sixteen.batch_kv_fits_l2
    assert sixteen.saturation_resource == "off-chip memory"
    assert sixteen.tokens_per_s < one.tokens_per_s
    offchip_ns = np.mean([32 * (s * 4096 - 13 * 2**20 / 16) for s in range(2049, 2057)]) / 51.2
    assert sixteen.tokens_per_s == pytest.approx(1e9 / offchip_ns, rel=0.01)
    hbm = dataclasses.replace(HW, offchip=H.OffchipSpec.hbm3())
    assert decode_report(LLAMA, hbm, LORA, 2048, 8, batch=16).tokens_per_s > sixteen.tokens_per_s
    # only the L2-held share crosses the links: 11 of the 13 chips' 13/16 MiB, 32 blocks (one
    # sequence alone: its whole cache, mean 2,052.5 keys)
    kv_links = sixteen.decode_interchip_bytes_per_token - (one.decode_interchip_bytes_per_token
                                                           - 32 * 2052.5 * 4096 * 11 / 13)
    assert kv_links == pytest.approx(32 * 13 * 2**20 / 16 * 11 / 13)


def test_encoder_throughput_beats_one_at_a_time():
    net = H.load_network("minilm-l6")
    report = H.evaluate_network(net, HW, H.LoraSpec(rank=8), seq_len=128, engine="closed_form")
    tp = encoder_throughput(report, net, HW)
    assert tp.sequences_per_s > 1e9 / report.total_ns
    assert tp.energy_pj_per_sequence < report.energy_pj
    assert tp.energy_pj_per_sequence == pytest.approx(report.dynamic_energy_pj
                                                      + tp.static_pj_per_sequence)


def test_prefill_link_figures_scale_with_the_prompt():
    b1, ns1 = prefill_links(LLAMA, HW, 512)
    b2, ns2 = prefill_links(LLAMA, HW, 1024)
    assert b1 > 0 and b2 == pytest.approx(2 * b1) and ns2 == pytest.approx(2 * ns1)


@pytest.mark.parametrize("make, field", [
    (lambda: LinkSpec(bandwidth_gbps=0), "bandwidth_gbps"),
    (lambda: LinkSpec(pj_per_bit=-1), "pj_per_bit"),
    (lambda: LmHeadSpec(placement="cpu"), "placement"),
    (lambda: link_preset("pcie"), "link"),
])
def test_bad_specs_name_their_field(make, field):
    with pytest.raises(H.SpecError, match=field):
        make()


def _exit(argv, capsys):
    from codesign.cli import main
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code)
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("extra, flag", [
    (["--generate", "4", "--batch", "0"], "--batch"),
    (["--batch", "4"], "--batch"),                       # no --generate: nothing to batch
    (["--generate", "4", "--link", "fibre"], "--link"),
])
def test_cli_bad_values_one_line_exit_2(extra, flag, capsys):
    code, err = _exit(["latency", "--model", "minilm-l6", *extra], capsys)
    assert code == 2 and flag in err and len(err.splitlines()) == 1


def test_cli_layer_refuses_batch_and_link(capsys):
    for extra, flag in ((["--batch", "2"], "--batch"), (["--link", "board"], "--link")):
        code, err = _exit(["latency", "--layer", "512x128", *extra], capsys)
        assert code == 2 and flag in err and len(err.splitlines()) == 1


def test_cli_batch_json_keys(tmp_path, capsys):
    from codesign.cli import main
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "hidden_size": 1024,
                                  "intermediate_size": 2048, "num_attention_heads": 8,
                                  "num_key_value_heads": 2, "num_hidden_layers": 2,
                                  "vocab_size": 4096}))
    argv = ["latency", "--model", str(config), "--seq-len", "64", "--generate", "4", "--json",
            "--engine", "closed_form"]
    assert main([*argv, "--batch", "8", "--link", "board"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("tokens_per_s", "decode_interchip_ns_per_token", "decode_energy_pj_per_token",
                "decode_static_energy_pj_per_token", "saturation_batch", "lm_head_tiles",
                "prefill_interchip_ns", "sequences_per_s"):
        assert key in out
    assert out["batch"] == 8
    assert main(argv) == 0
    one = json.loads(capsys.readouterr().out)
    assert out["tokens_per_s"] > one["tokens_per_s"]


def _roofline_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_roofline.py"
    spec = importlib.util.spec_from_file_location("gpu_roofline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_roofline_counts_llama_weights_and_kv():
    roof = _roofline_module()
    # LLaMA-3.1-8B: 8,030,261,248 parameters (its model card's 8.03 B), 16.06 GB in BF16
    assert roof.parameters(LLAMA) == 8_030_261_248
    assert roof.kv_bytes_per_token(LLAMA) == 32 * 2 * 8 * 128 * 2   # 128 KiB per token
    one, sixteen = (roof.roofline(LLAMA, 2048, 128, b) for b in (1, 16))
    kv = 131072 * (2048 + 64.5)
    assert one["ns_per_token"] == pytest.approx((16_060_522_496 + kv) / 3.35e12 * 1e9)
    # the batch shares the weights: more tokens/s, but each sequence waits longer
    assert sixteen["tokens_per_s"] > 10 * one["tokens_per_s"]
    assert sixteen["ns_per_token"] > one["ns_per_token"]


def _study(tmp_path, body: str):
    from codesign.config import load_study

    path = tmp_path / "study.yaml"
    path.write_text("name: s\nsearch_space: {rank: {choices: [4, 8]}}\n" + body)
    return load_study(path)


@pytest.mark.parametrize("body, field", [
    ("workload: {network: llama-3.1-8b, generate: 4}\nhardware: {link: {bandwidth_gbps: 0}}\n"
     "objectives: [{name: tokens_per_s}]\n", "bandwidth_gbps"),
    ("workload: {network: llama-3.1-8b, batch: 16}\nobjectives: [{name: latency_us}]\n",
     "workload.batch"),
    ("workload: {network: llama-3.1-8b}\nobjectives: [{name: decode_uj_per_token}]\n",
     "workload.generate"),
    ("workload: {network: llama-3.1-8b, generate: 4}\nhardware: {lm_head: {placement: cpu}}\n"
     "objectives: [{name: tokens_per_s}]\n", "placement"),
])
def test_study_files_refuse_bad_system_values(tmp_path, body, field):
    from codesign.errors import InputError

    with pytest.raises((InputError, H.SpecError)) as info:
        _study(tmp_path, body)
    assert field in str(info.value) and len(str(info.value).splitlines()) == 1


def test_study_metrics_at_the_batch(tmp_path):
    from codesign.config.study import DesignPoint, Workload
    from codesign.evaluators import hardware_metrics

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "hidden_size": 1024,
                                  "intermediate_size": 2048, "num_attention_heads": 8,
                                  "num_key_value_heads": 2, "num_hidden_layers": 2,
                                  "vocab_size": 4096}))
    hw = _chips(8, H.HardwareSpec(tokens=8))
    got = {b: hardware_metrics(DesignPoint(hardware=hw, workload=Workload(
        network=str(config), seq_len=64, generate=4, batch=b))) for b in (1, 4)}
    assert got[4]["tokens_per_s"] > got[1]["tokens_per_s"]
    assert got[4]["decode_uj_per_token"] < got[1]["decode_uj_per_token"]
    assert got[1]["sequences_per_s"] == got[4]["sequences_per_s"] > 0


def test_system_keys_are_what_the_cli_prints(capsys):
    from codesign.cli import main
    from codesign.cli.latency import SYSTEM_KEYS

    assert main(["latency", "--model", "minilm-l6", "--seq-len", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(SYSTEM_KEYS) <= set(out)
    assert out["prefill_interchip_bytes"] == 0       # MiniLM's 60 tiles sit on one chip
    assert out["sequences_per_s"] > 1e9 / out["total_ns"]


def test_slow_links_bound_the_throughput():
    hw = dataclasses.replace(_chips(2), link=LinkSpec(bandwidth_gbps=0.01))
    report = H.evaluate_network(SMALL, hw, LORA, seq_len=64, engine="closed_form")
    tp = encoder_throughput(report, SMALL, hw)
    nbytes, port_ns = prefill_links(SMALL, hw, 64)
    assert tp.bottleneck == "chip links" and tp.bottleneck_ns == pytest.approx(port_ns)
    fast = encoder_throughput(H.evaluate_network(SMALL, _chips(2), LORA, seq_len=64,
                                                 engine="closed_form"), SMALL, _chips(2))
    assert fast.bottleneck != "chip links" and fast.sequences_per_s > tp.sequences_per_s


def test_a_further_shared_stage_lowers_the_saturation():
    """``stages`` adds a resource (an off-chip memory every sequence reads) to the batch model."""
    import numpy as np
    from hw_models.decode import _token_latency
    from hw_models.decode_system import with_system

    hw = _chips(8)
    rep = decode_report(SMALL, hw, LORA, prompt_len=256, generate=4, batch=64)
    one = dataclasses.replace(hw, tokens=1)
    base, plan = _token_latency(SMALL, one, LORA)
    base0, _ = _token_latency(SMALL, one, H.LoraSpec(rank=0, placement="none"))
    attn = np.full(4, rep.attention_ns_per_token)
    memory = rep.single_ns_per_token / 2        # saturates at a batch of 2
    got = with_system(rep, SMALL, one, plan, np.arange(257, 261), (base, base0), attn, 0.0, 64,
                      stages={"off-chip memory": memory})
    assert got.saturation_resource == "off-chip memory" and got.saturation_batch == 2
    # the embedding row (1024 x 2 B per token) loads the same DRAM (51.2 GB/s)
    assert got.tokens_per_s == pytest.approx(1e9 / (memory + 1024 * 2 / 51.2))


def test_the_batch_kv_caches_are_checked_against_the_l2():
    # LLaMA at 2,056 keys: 8.0 MiB of K/V per block and sequence; a block's 13 chips hold 13 MiB
    one = decode_report(LLAMA, HW, LORA, prompt_len=2048, generate=8, batch=1)
    two = decode_report(LLAMA, HW, LORA, prompt_len=2048, generate=8, batch=2)
    assert one.batch_kv_fits_l2 and not two.batch_kv_fits_l2
    # each of the two keeps 6.5 MiB per block in the L2; the rest, 1.5 MiB x 32 blocks, is off chip
    assert two.kv_cache_offchip_bytes == 32 * (2056 * 4096 - 13 * 2**19)
