"""Contention without an event loop (hw_models.contention) against the SimPy simulation.

The fast pass must give the schedule SimPy computes, block by block (every block simulated, no
extrapolation), wherever attention contends with the layers whose PMCAs it borrows.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

import hw_models as H
import hw_models.contention as contention
from hw_models.closed_form import chain, closed_form_done, equal_chunks_makespan, linear_done
from hw_models.contention import busy_intervals, contended_done, preempted_chain
from hw_models.plan import LinearPlan, build_plan
from hw_models.system import block_des, contended, network_latency
from hw_models.workload import LinearLayer, network_from_config

#: relative tolerance between the fast pass and SimPy (both sum the same float stage times in a
#: different order: they agree to about 1e-15)
REL = 1e-9

TOY = network_from_config({"model_type": "llama", "hidden_size": 256, "intermediate_size": 512,
                           "num_attention_heads": 4, "num_key_value_heads": 2,
                           "num_hidden_layers": 4}, "toy-causal")
LLAMA_HW = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=512), tokens=8)

simpy_block = functools.partial(block_des, simpy_only=True)


def _simpy_blocks(plan) -> list[np.ndarray]:
    """Output chunk times after the prologue and after every block, all simulated by SimPy."""
    x = np.zeros(plan.chunks)
    if plan.prologue:
        x = simpy_block(plan, plan.prologue, x)
    out = []
    for _ in range(plan.blocks):
        x = simpy_block(plan, plan.block, x)
        out.append(x)
    return out


def _assert_same_as_simpy(plan) -> None:
    reference = _simpy_blocks(plan)
    x = np.zeros(plan.chunks)
    if plan.prologue:
        x = block_des(plan, plan.prologue, x)
    for b in range(min(3, plan.blocks)):       # every chunk of the first blocks
        x = block_des(plan, plan.block, x)
        np.testing.assert_allclose(x, reference[b], rtol=REL, atol=0)
    assert network_latency(plan, "des") == pytest.approx(float(reference[-1][-1]), rel=REL)


def _is_contended(plan) -> bool:
    x = np.zeros(plan.chunks)
    return contended(plan.block, closed_form_done(plan, plan.block, x))


def test_llama_prompt_as_simpy_block_by_block():
    # the benchmark's point with a 512-token prompt (64 chunks), all 32 blocks
    plan = build_plan(H.load_network("llama-3.1-8b"), LLAMA_HW, H.LoraSpec(rank=16), 512)
    assert _is_contended(plan)      # attention waits for the q/k/v layers' LoRA work
    _assert_same_as_simpy(plan)


def test_llama_2048_token_blocks_every_node_as_simpy():
    plan = build_plan(H.load_network("llama-3.1-8b"), LLAMA_HW, H.LoraSpec(rank=16), 2048)
    x = np.zeros(plan.chunks)
    for _ in range(2):
        fast = contended_done(plan.block, x)
        log: list = []
        block_des(plan, plan.block, x, log, simpy_only=True)
        assert fast is not None and len(log) == plan.chunks * len(plan.block)
        for when, name, k in log:
            assert fast[name][k] == pytest.approx(when, rel=REL)
        x = fast[plan.block[-1].name]


@pytest.mark.parametrize("mapping", ["upstream", "qkv", "block"])
def test_causal_toy_as_simpy(mapping):
    hw = H.HardwareSpec(tokens=8, attention=H.AttentionSpec(mapping=mapping))
    plan = build_plan(TOY, hw, H.LoraSpec(rank=8), 96)
    assert _is_contended(plan)
    _assert_same_as_simpy(plan)


@pytest.mark.parametrize("mapping", ["upstream", "block"])
def test_mobilebert_as_simpy(mapping):
    hw = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=256), tokens=8,
                        attention=H.AttentionSpec(mapping=mapping))
    plan = build_plan(H.load_network("mobilebert"), hw, H.LoraSpec(rank=8, placement="all"), 320)
    _assert_same_as_simpy(plan)


def test_passes_that_do_not_settle_fall_back_to_simpy(monkeypatch):
    # attention on every layer of the block: the layers after it set when its clusters are busy
    hw = H.HardwareSpec(tokens=8, attention=H.AttentionSpec(mapping="block"))
    plan = build_plan(TOY, hw, H.LoraSpec(rank=8), 96)
    expected = simpy_block(plan, plan.block, np.zeros(plan.chunks))
    monkeypatch.setattr(contention, "MAX_PASSES", 0)
    assert contended_done(plan.block, np.zeros(plan.chunks)) is None
    np.testing.assert_array_equal(block_des(plan, plan.block, np.zeros(plan.chunks)), expected)


def test_preempted_chain_by_hand():
    # the owner is busy on [2, 5) and [8, 11); job 0 (ready 0, 4 ns) runs [0, 2) and [5, 7);
    # job 1 (ready 1, 3 ns) waits for it, runs [7, 8), is preempted, runs [11, 13);
    # job 2 (ready 14, no work) ends when it starts
    busy = busy_intervals(np.array([5.0, 11.0]), np.array([3.0, 3.0]))
    out = preempted_chain(np.array([0.0, 1.0, 14.0]), np.array([4.0, 3.0, 0.0]), busy)
    assert list(out) == [7.0, 13.0, 14.0]
    # nothing meets a busy interval: the plain FIFO chain
    free = preempted_chain(np.array([11.0, 12.0]), np.array([1.0, 1.0]), busy)
    assert list(free) == list(chain(np.array([11.0, 12.0]), np.array([1.0, 1.0])))


def test_equal_chunks_tandem_is_the_chain_recursion():
    layer = LinearLayer("x", "other", 8, 8)
    c = 7
    lp = LinearPlan(layer, 0, np.full(c, 5.0), np.zeros(c), np.full(c, 3.0), None, (),
                    np.full(c, 1.0))
    assert lp.tandem is not None
    # c equal chunks from time 0: the hand formula sum(stages) + (c - 1) max(stages)
    assert linear_done(lp, np.zeros(c))[-1] == equal_chunks_makespan([1.0, 5.0, 3.0], c)
    ready = np.random.default_rng(0).uniform(0, 40, c)
    by_chain = chain(chain(chain(ready, lp.feed), lp.tile), lp.pmca)
    np.testing.assert_allclose(linear_done(lp, ready), by_chain, rtol=1e-12)
    uneven = dataclasses.replace(lp, tile=np.array([5.0] * (c - 1) + [2.0]))
    assert uneven.tandem is None
    np.testing.assert_allclose(linear_done(uneven, ready),
                               chain(chain(chain(ready, uneven.feed), uneven.tile), uneven.pmca),
                               rtol=1e-12)
