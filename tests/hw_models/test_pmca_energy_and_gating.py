"""RedMulE energy counted once at one published point, TCDM energy only for data moved into or out
of the TCDM (issue 21, item 7), and power gating of idle tiles and clusters with a wake-up cost
(item 3)."""

from __future__ import annotations

import dataclasses
import math

import pytest

import hw_models as H
from hw_models import aimc, memory, snitch, stages
from hw_models.area import gated_leakage_mw


def test_redmule_published_point_is_688_gflops_per_watt_at_about_473_mhz():
    p = H.PmcaSpec()
    assert 2.0 / p.redmule_pj_per_mac * 1e3 == pytest.approx(688, rel=0.01)     # GFLOPS/W
    gflops = 43.5e-3 * 688                                                     # 43.5 mW cluster
    assert gflops / (2 * 31.6) == pytest.approx(0.473, rel=0.01)               # GHz


def test_tcdm_energy_is_charged_only_for_bytes_moved_not_for_compute_operands():
    hw = H.HardwareSpec()
    m, n, t, r = 512, 128, 8, 8
    st = stages.layer_stage(m, n, hw, r, t)
    share = snitch.lora_share(m, n, 1, 1)
    macs = snitch.lora_padded_macs(t, share, r, hw.pmca)
    flops = 2 * snitch.lora_core_macs(t, share, r, hw.pmca)
    out_bytes = t * n * hw.pmca.bytes_per_element      # the readout lands in the TCDM
    expect = (aimc.layer_energy_pj(m, n, t, hw.aimc) + snitch.compute_pj(macs, flops, hw.pmca)
              + out_bytes * (memory.link_pj_per_byte(hw.pmca) + memory.tcdm_pj_per_byte(hw.pmca))
              + st.l2_bytes * (memory.l2_pj_per_byte(hw) + memory.tcdm_pj_per_byte(hw.pmca)))
    assert st.energy_pj == pytest.approx(expect)
    # CACTI's 128 KiB TCDM and 1 MiB L2 at 22 nm, not Horowitz's 45 nm 1.25 / 12.5 pJ/B
    assert memory.tcdm_pj_per_byte(hw.pmca) == pytest.approx(0.85, rel=0.01)
    assert memory.l2_pj_per_byte(hw) == pytest.approx(2.48, rel=0.01)
    # the compute itself is the cluster-level efficiencies and nothing else
    assert snitch.compute_pj(100.0, 10.0, hw.pmca) == pytest.approx(100 * 2.91 + 10 * 5.0)


def test_redmule_energy_scale_moves_only_redmule_energy():
    hw = H.HardwareSpec()
    hot = dataclasses.replace(hw, pmca=dataclasses.replace(hw.pmca, redmule_energy_scale=2.0))
    a, b = (stages.layer_stage(512, 128, x, 8, 128) for x in (hw, hot))
    share = snitch.lora_share(512, 128, 1, 1)
    macs = snitch.lora_padded_macs(128, share, 8, hw.pmca)
    assert b.energy_pj - a.energy_pj == pytest.approx(macs * 2.91)
    assert (a.lora_ns, a.pmca_ns) == (b.lora_ns, b.pmca_ns)        # energy only


def test_link_energy_is_a_wire_model():
    # hwcomponents-library's wire: 8 bits x 0.2 fF/um x 1000 um x (0.7 V)^2 = 0.784 pJ/B/mm at
    # full swing, x 0.5 toggling x 1 mm = 0.392 pJ per byte
    assert memory.link_pj_per_byte(H.PmcaSpec()) == pytest.approx(8 * 0.2 * (0.7 ** 2) * 0.5)
    assert memory.link_pj_per_byte(H.PmcaSpec(link_mm=3.0)) == pytest.approx(3 * 0.392)
    # the old 45 nm figure (Horowitz: 64 bit over 1 mm ~ 15-20 pJ) is 2.6-10x a wire model's
    assert 2.6 < 2.0 / memory.link_pj_per_byte(H.PmcaSpec()) < 10.0


def _net(**chip):
    net = H.load_network("minilm-l6")
    return H.evaluate_network(net, H.HardwareSpec(chip=H.ChipSpec(**chip)), H.LoraSpec(rank=8),
                              seq_len=128)


def test_cluster_gating_saves_idle_logic_leakage_less_its_wake_ups():
    on, off = _net(), _net(cluster_idle_leakage_share=0.0)
    free = _net(cluster_idle_leakage_share=0.0, wakeup_break_even_ns=0.0)
    assert off.total_ns == on.total_ns and off.dynamic_energy_pj == on.dynamic_energy_pj
    assert free.static_energy_pj < off.static_energy_pj < on.static_energy_pj
    hw = H.HardwareSpec(chip=H.ChipSpec(cluster_idle_leakage_share=0.0))
    _, cluster_mw = gated_leakage_mw(hw)
    wakeups = on.pmca_clusters * math.ceil(128 / 8)
    assert off.static_energy_pj - free.static_energy_pj == pytest.approx(
        cluster_mw * 100.0 * wakeups, rel=1e-9)
    # the TCDM is retentive: gating the clusters never removes SRAM leakage
    sram_mw = memory.tcdm(hw.pmca).leakage_mw * on.pmca_clusters
    assert free.static_energy_pj > sram_mw * on.total_ns


def test_gating_with_a_long_wake_up_can_cost_more_than_it_saves():
    on = _net()
    slow = _net(aimc_idle_leakage_share=0.0, cluster_idle_leakage_share=0.0,
                wakeup_break_even_ns=1e6)
    assert slow.static_energy_pj > on.static_energy_pj


def test_energy_is_reported_with_and_without_leakage():
    r = _net(aimc_idle_leakage_share=0.0, cluster_idle_leakage_share=0.0)
    assert r.energy_pj == pytest.approx(r.dynamic_energy_pj + r.static_energy_pj)
    assert 0 < r.static_energy_pj < r.static_power_mw * r.total_ns
