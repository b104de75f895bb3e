"""SimPy scenarios with small event logs, and closed form vs event simulation."""

from __future__ import annotations

import numpy as np
import pytest

import hw_models as H
from hw_models.closed_form import block_closed_form
from hw_models.plan import AttentionPlan, LinearPlan, Plan, attention_groups, build_plan
from hw_models.system import block_des, network_latency
from hw_models.workload import AttentionOp, LinearLayer


def _linear(name, tile, pmca, inputs=("in",)):
    layer = LinearLayer(name, "other", 8, 8, 1, inputs)
    arr = lambda v: np.asarray(v, dtype=float)  # noqa: E731
    return LinearPlan(layer, 0, arr(tile), np.zeros(len(tile)), arr(pmca), None, ())


def _attention(cost, causal, servers=("q", "k", "v")):
    # one head per query chunk; the PMCAs of q, k and v form three groups (chunks round-robin)
    op = AttentionOp("att", 1, 8, "q", ("k", "v"), servers=servers, causal=causal)
    return AttentionPlan(op, np.asarray(cost, dtype=float), attention_groups(1, list(servers)))


def _block(causal):
    # three chunks; q/k/v: tile 2 ns, PMCA 3 ns; attention 4 ns per chunk on the q/k/v PMCAs
    nodes = (_linear("q", [2] * 3, [3] * 3), _linear("k", [2] * 3, [3] * 3),
             _linear("v", [2] * 3, [3] * 3), _attention([4] * 3, causal),
             _linear("o", [1] * 3, [1] * 3, ("att",)))
    return Plan((1, 1, 1), (), nodes, 1), nodes


def test_encoder_barrier_event_log():
    plan, nodes = _block(causal=False)
    log = []
    out = block_des(plan, nodes, np.zeros(3), log)
    # PMCA of q/k/v: chunks done at 5, 8, 11 (tile 2, 4, 6 -> PMCA FIFO 3 each)
    assert [t for t, name, k in log if name == "q"] == [5, 8, 11]
    # barrier: attention starts at 11 for every chunk, one per server (round-robin) -> 15
    assert [(t, k) for t, name, k in log if name == "att"] == [(15, 0), (15, 1), (15, 2)]
    # o: tile 1 then PMCA 1 per chunk, FIFO: 17, 18, 19
    assert list(out) == [17, 18, 19]
    assert list(block_closed_form(plan, nodes, np.zeros(3))) == list(out)


def test_causal_attention_contends_with_lora():
    plan, nodes = _block(causal=True)
    log = []
    out = block_des(plan, nodes, np.zeros(3), log)
    att = [(t, k) for t, name, k in log if name == "att"]
    # a layer's own work has priority on its PMCA: q's PMCA runs chunks 0, 1, 2 at [2, 5],
    # [5, 8], [8, 11], so attention chunk 0 (ready at 5, on q's PMCA) gets it at 11 -> 15;
    # chunk 1 (ready at 8, on k's PMCA, busy until 11) -> 15; chunk 2 (ready at 11, v) -> 15
    assert att == [(15, 0), (15, 1), (15, 2)]
    assert [t for t, name, k in log if name == "q"] == [5, 8, 11]
    cf = block_closed_form(plan, nodes, np.zeros(3))   # dedicated servers: no contention
    assert out[-1] > cf[-1]
    assert out[-1] == 19 and cf[-1] == 17


def test_preempted_attention_resumes_where_it_stopped():
    # one layer q whose PMCA attention borrows; q's chunk 1 arrives while attention chunk 0 runs
    nodes = (_linear("q", [1, 6], [2, 2]), _linear("k", [1, 1], [1, 1]),
             _linear("v", [1, 1], [1, 1]),
             AttentionPlan(AttentionOp("att", 1, 8, "q", ("k", "v"), servers=("q",),
                                       causal=True), np.array([4.0, 4.0]), ((("q", 1),),)),
             _linear("o", [1, 1], [1, 1], ("att",)))
    plan = Plan((1, 1), (), nodes, 1)
    log = []
    block_des(plan, nodes, np.zeros(2), log)
    # q: chunk 0 on the PMCA [1, 3]; attention chunk 0 from 3; q's chunk 1 reaches the PMCA at 7
    # and preempts it (4 of its 4 ns done? no: 3 -> 7 is 4 ns, done exactly at 7), so chunk 0
    # ends at 7; q's chunk 1 runs [7, 9]; attention chunk 1 then [9, 13]
    assert [(t, k) for t, name, k in log if name == "att"] == [(7, 0), (13, 1)]
    nodes2 = (_linear("q", [1, 5], [2, 2]),) + nodes[1:]
    log = []
    block_des(Plan((1, 1), (), nodes2, 1), nodes2, np.zeros(2), log)
    # now q's chunk 1 arrives at 6: attention chunk 0 ran [3, 6], is preempted for [6, 8] and
    # finishes its last 1 ns at 9; attention chunk 1 then [9, 13]
    assert [(t, k) for t, name, k in log if name == "att"] == [(9, 0), (13, 1)]


def test_single_layer_des_equals_closed_form():
    for t, tint in ((8, 512), (16, 256), (48, 128), (128, 128)):
        hw = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=tint), tokens=t)
        rep = H.layer_closed_form(512, 128, hw, 8)
        from hw_models.plan import linear_plan
        from hw_models.stages import chunk_sizes
        sizes = chunk_sizes(320, t)
        lp = linear_plan(LinearLayer("x", "other", 512, 128), hw, 8, sizes)
        des = network_latency(Plan(tuple(sizes), (lp,), (), 0), "des")
        assert des == pytest.approx(rep.total_ns, rel=1e-12)


@pytest.mark.parametrize("name", ["mobilebert", "bert-base", "minilm-l6"])
def test_encoders_des_within_1_percent_of_closed_form(name):
    net = H.load_network(name)
    hw = H.HardwareSpec(tokens=16)
    lora = H.LoraSpec(rank=8)
    a = H.evaluate_network(net, hw, lora, engine="des")
    b = H.evaluate_network(net, hw, lora, engine="closed_form")
    assert a.total_ns == pytest.approx(b.total_ns, rel=0.01)
    assert a.aimc_only_ns == pytest.approx(b.aimc_only_ns, rel=0.01)


def test_block_extrapolation_is_exact():
    net = H.load_network("minilm-l6")
    plan = build_plan(net, H.HardwareSpec(tokens=32), H.LoraSpec(rank=4), 128)
    x = np.zeros(plan.chunks)
    for _ in range(plan.blocks):
        x = block_des(plan, plan.block, x)
    assert network_latency(plan, "des") == pytest.approx(float(x[-1]), rel=1e-12)


def test_causal_decoder_des_at_least_closed_form():
    cfg = {"model_type": "llama", "hidden_size": 256, "intermediate_size": 512,
           "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 3}
    from hw_models.workload import network_from_config
    net = network_from_config(cfg, "tiny-llama")
    hw, lora = H.HardwareSpec(tokens=16), H.LoraSpec(rank=8)
    des = H.evaluate_network(net, hw, lora, seq_len=128, engine="des")
    cf = H.evaluate_network(net, hw, lora, seq_len=128, engine="closed_form")
    assert des.total_ns >= cf.total_ns * (1 - 1e-12)


def test_unknown_engine():
    with pytest.raises(H.SpecError, match="engine"):
        H.evaluate_network(H.load_network("minilm-l6"), H.HardwareSpec(), H.LoraSpec(),
                           engine="fast")


def test_borrowed_pmca_without_work_of_its_own():
    # q's PMCA has nothing to do (no adapter, no post-ops): attention simply runs on it
    nodes = (_linear("q", [1, 1], [0, 0]), _linear("k", [1, 1], [0, 0]),
             _linear("v", [1, 1], [0, 0]),
             AttentionPlan(AttentionOp("att", 1, 8, "q", ("k", "v"), servers=("q",),
                                       causal=True), np.array([4.0, 4.0]), ((("q", 1),),)),
             _linear("o", [1, 1], [1, 1], ("att",)))
    plan = Plan((1, 1), (), nodes, 1)
    # attention chunk 0 at [1, 5], chunk 1 at [5, 9] (FIFO on q's PMCA); o: tile 1 + PMCA 1
    assert list(block_des(plan, nodes, np.zeros(2))) == [7, 11]
    assert list(block_closed_form(plan, nodes, np.zeros(2))) == [7, 11]
