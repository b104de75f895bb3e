"""Pure timing/memory formulas against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from hw_models import AimcTileSpec, HardwareSpec, PmcaSpec, SpecError, layer_closed_form
from hw_models import aimc, interconnect, memory, snitch
from hw_models.closed_form import chain, equal_chunks_makespan

HW = HardwareSpec()


def test_tile_grid_and_chunk_time():
    tile = AimcTileSpec.paper(integration_ns=128)
    assert aimc.tile_grid(512, 128, tile) == (1, 1)
    assert aimc.tile_grid(768, 3072, tile) == (2, 6)
    assert aimc.tile_grid(513, 512, tile) == (2, 1)
    assert aimc.chunk_ns(8, tile) == 8 * 128          # t x integration time (paper)
    assert aimc.chunk_ns(8, AimcTileSpec.paper(integration_ns=512)) == 8 * 512
    # the default tile converts after integrating: 8-bit SAR (8 x 1 ns) + 5 ns readout
    assert aimc.chunk_ns(8, AimcTileSpec(integration_ns=128)) == 8 * (128 + 8 + 5)


def test_redmule_gemm_hand_calculation():
    p = PmcaSpec()  # 32 FMA = 8 rows x 4, P = 3 -> 8 x 16 output tiles
    # X A for t = 8, m = 512, r = 8: 1 x 1 tiles, 4 * 512 / 0.988 + 32 cycles
    assert snitch.gemm_cycles(8, 512, 8, p) == pytest.approx(4 * 512 / 0.988 + 32)
    # (X A) B for t = 8, r = 8, n = 128: 1 x 8 tiles of 4 * 8 / 0.988 + 32
    assert snitch.gemm_cycles(8, 8, 128, p) == pytest.approx(8 * (32 / 0.988 + 32))
    assert snitch.gemm_padded_macs(8, 512, 8, p) == 8 * 16 * 512   # half the tile wasted
    cores = PmcaSpec(redmule_fma=0)
    # 8 cores x 2 FP16 lanes (32-bit SIMD FPU) x 90 % utilisation
    assert snitch.gemm_cycles(8, 512, 8, cores) == pytest.approx(8 * 512 * 8 / (8 * 2 * 0.9))


def test_tcdm_working_set_reproduces_paper_kib():
    p = PmcaSpec()

    def kib(m, n, t):
        return snitch.tcdm_bytes(t, snitch.lora_share(m, n, 1, 1), 8, p) / 1024

    # docs/reference/paper.md section 5: 8.2 / 21 KiB at t = 8 and 70 / 172 KiB at t = 128
    assert kib(128, 128, 8) == pytest.approx(8.2, abs=0.1)
    assert kib(512, 128, 8) == pytest.approx(21, abs=1)
    assert kib(128, 128, 128) == pytest.approx(70, abs=0.1)
    assert kib(512, 128, 128) == pytest.approx(172, abs=0.1)


def test_interconnect_and_overflow():
    p = PmcaSpec(tcdm_kib=1)
    assert interconnect.readout_ns(256, p) == 256 / 16
    assert interconnect.dma_ns(640, p) == 10
    assert interconnect.overflow_bytes(1024, p) == 0
    assert interconnect.overflow_bytes(1524, p) == 500      # the excess, streamed once
    assert interconnect.l2_ns(160, PmcaSpec(clock_ghz=0.5)) == 20
    # streamed in blocks alongside the compute: the slower of the two
    assert interconnect.streamed_ns(100.0, 160, p) == 100.0
    assert interconnect.streamed_ns(5.0, 160, p) == 10.0
    # ring all-reduce over 4 clusters: 2 * 3/4 of the buffer through each DMA at 64 B/cycle
    assert interconnect.allreduce_ns(128, 4, p) == pytest.approx(2 * 0.75 * 128 / 64)
    assert interconnect.allreduce_ns(128, 1, p) == 0.0


def test_chain_is_the_maxplus_recursion():
    rng = np.random.default_rng(0)
    ready = np.sort(rng.uniform(0, 100, 20))
    s = rng.uniform(1, 10, 20)
    done, prev = [], 0.0
    for r, x in zip(ready, s):
        prev = max(prev, r) + x
        done.append(prev)
    assert chain(ready, s) == pytest.approx(done)


def test_layer_total_matches_equal_chunk_formula():
    hw = HardwareSpec(aimc=AimcTileSpec.paper(integration_ns=512), tokens=8)
    r = layer_closed_form(512, 128, hw, 8, seq_len=320)
    tile = r.aimc_ns + r.readout_ns                 # one output buffer: readout on the tile
    assert r.total_ns == pytest.approx(equal_chunks_makespan([tile, r.pmca_ns], 40))
    assert r.tile_only_ns == 320 * 512              # the paper's baseline: bare tiles
    # without the adapter: the same 40 chunks through the tile (readout included), no PMCA work
    assert r.aimc_only_ns == pytest.approx(40 * tile)
    assert r.overhead == pytest.approx(r.total_ns / r.aimc_only_ns)
    assert r.ratio == pytest.approx(r.pmca_ns / r.aimc_ns)


def test_rank_zero_is_the_aimc_baseline():
    r = layer_closed_form(512, 128, HardwareSpec(aimc=AimcTileSpec.paper(), tokens=8), 0)
    assert r.pmca_ns == 0 and r.ratio == 0
    assert r.total_ns == pytest.approx(40 * (8 * 256 + 8 * 128 * 2 / 16))
    assert r.aimc_only_ns == r.total_ns and r.overhead == 1.0
    assert r.tile_only_ns == 320 * 256


def test_readout_format_sets_readout_time_and_traffic():
    """Readout = t x n outputs x output_bytes over the 16 B/cycle port: INT8 halves FP16's."""
    fp16 = layer_closed_form(512, 128, HardwareSpec(aimc=AimcTileSpec(), tokens=8), 0)
    int8 = layer_closed_form(512, 128, HardwareSpec(aimc=AimcTileSpec(output_bytes=1), tokens=8),
                             0)
    assert fp16.readout_ns == 8 * 128 * 2 / 16 and int8.readout_ns == 8 * 128 / 16
    assert int8.total_ns == pytest.approx(40 * (8 * 269 + 64))
    # half the bytes over the link and into the TCDM (their per-byte energies) per chunk
    pmca = HardwareSpec().pmca
    per_byte = memory.link_pj_per_byte(pmca) + memory.tcdm_pj_per_byte(pmca)
    assert 1.0 < per_byte < 1.5   # CACTI's 22 nm TCDM (~0.85 pJ/B) + a wire model's link (~0.39)
    assert fp16.energy_pj - int8.energy_pj == pytest.approx(320 * 128 * per_byte)


def test_overflow_is_streamed_not_an_error():
    small = HardwareSpec(aimc=AimcTileSpec(integration_ns=128), tokens=128)
    big = HardwareSpec(aimc=AimcTileSpec(integration_ns=128), pmca=PmcaSpec(tcdm_kib=256),
                       tokens=128)
    r_small, r_big = layer_closed_form(512, 128, small, 8), layer_closed_form(512, 128, big, 8)
    assert not r_small.tcdm_fits and r_big.tcdm_fits
    excess = (172 - 128) * 1024
    # two chunks of 128 tokens overflow; the last one, of 64, fits
    assert r_small.l2_bytes == pytest.approx(2 * excess) and r_big.l2_bytes == 0
    # 44 KiB per chunk at 16 B/cycle (2.8 us) hides behind ~42 us of LoRA compute
    assert r_small.pmca_ns == pytest.approx(r_big.pmca_ns)
    # a narrow L2 port makes the streaming the bottleneck: the chunk takes its DMA time
    slow = HardwareSpec(aimc=AimcTileSpec(integration_ns=128),
                        pmca=PmcaSpec(l2_bytes_per_cycle=0.5), tokens=128)
    r_slow = layer_closed_form(512, 128, slow, 8)
    assert r_slow.pmca_ns == pytest.approx(excess / 0.5) and r_slow.pmca_ns > r_big.pmca_ns


@pytest.mark.parametrize("kwargs, field", [
    (dict(m=0, n=128, rank=8), "m"),
    (dict(m=512, n=-1, rank=8), "n"),
    (dict(m=512, n=128, rank=-1), "rank"),
    (dict(m=512, n=128, rank=8, seq_len=4), "tokens"),
    (dict(m=512, n=128, rank=8, seq_len=0), "seq_len"),
])
def test_bad_layer_input(kwargs, field):
    with pytest.raises(SpecError, match=field):
        layer_closed_form(hw=HardwareSpec(tokens=8), **kwargs)


def test_bad_spec_fields():
    with pytest.raises(SpecError, match="aimc.integration_ns"):
        HardwareSpec(aimc=AimcTileSpec(integration_ns=0))
    with pytest.raises(SpecError, match="tokens"):
        HardwareSpec(tokens=0)
    with pytest.raises(SpecError, match="redmule_fma"):
        PmcaSpec(redmule_fma=10)
