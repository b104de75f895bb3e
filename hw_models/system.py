"""The whole machine as a SimPy discrete-event simulation, and :func:`evaluate_network`.

Every linear layer owns its tiles and PMCAs (weights are stationary). Per block, a SimPy process
per stage walks the chunks in order: the tile integrates chunk k+1 while the PMCA works on chunk k;
the readout holds the tile when it has one output buffer; a layer starts a chunk when all its
inputs have produced it; attention waits for every key/value chunk (encoder: a barrier) or for those
up to its own chunk (causal), and runs round-robin on the PMCAs of the block's pre-attention layers,
which are SimPy resources it shares with those layers' LoRA work (contention in a causal decoder,
none in an encoder where they are idle after the barrier). The environment is created per call and
passed explicitly; nothing is global.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import simpy

from ._fields import SpecError
from .closed_form import block_closed_form, layer_report, run_blocks
from .plan import AttentionPlan, LinearPlan, Plan, build_plan, check_run
from .reports import NetworkReport
from .specs import HardwareSpec, LoraSpec
from .stages import attention_energy_pj, chunk_sizes
from .workload import Network

ENGINES = ("des", "closed_form")


def _arrivals(env: simpy.Environment, times: np.ndarray, events: list) -> object:
    """Process: trigger ``events[k]`` at ``times[k]`` (the block's input chunks)."""
    for k, at in enumerate(times):
        if at > env.now:
            yield env.timeout(at - env.now)
        events[k].succeed()


def _tile(env, ready, tile_ns, link_ns, out):
    """Process: a tile integrates chunk k once its inputs are ready, then (readout) hands it on."""
    for k in range(len(tile_ns)):
        yield ready(k)
        yield env.timeout(tile_ns[k])
        if link_ns is None:
            out[k].succeed()
        else:
            env.process(_readout(env, link_ns[k], out[k]))


def _readout(env, ns, event):
    yield env.timeout(ns)
    event.succeed()


def _pmca(env, inbox, pmca_ns, res, out, times):
    """Process: the PMCA takes chunk k from its tile and runs LoRA + accumulation + post-ops."""
    for k in range(len(pmca_ns)):
        yield inbox[k]
        if res is None:
            yield env.timeout(pmca_ns[k])
        else:
            with res.request() as req:
                yield req
                yield env.timeout(pmca_ns[k])
        times[k] = env.now
        out[k].succeed()


def _attention(env, chunks, ready, cost, res, out, times):
    """Process: one server's share of the attention chunks (round-robin), on a shared PMCA."""
    for k in chunks:
        yield ready(k)
        with res.request() as req:
            yield req
            yield env.timeout(cost[k])
        times[k] = env.now
        out[k].succeed()


def block_des(plan: Plan, nodes, x: np.ndarray) -> np.ndarray:
    """Output chunk times of one block (or the prologue) by discrete-event simulation."""
    env = simpy.Environment()
    c = plan.chunks
    events = {"in": [env.event() for _ in range(c)]}
    env.process(_arrivals(env, x, events["in"]))
    servers = {s for node in nodes if isinstance(node, AttentionPlan) for s in node.op.servers}
    res = {name: simpy.Resource(env, capacity=1) for name in servers}
    times = {}
    last = None

    def waiter(names):
        lists = [events[n] for n in names]
        if len(lists) == 1:
            only = lists[0]
            return lambda k: only[k]
        return lambda k: env.all_of([lst[k] for lst in lists])

    for node in nodes:
        out = [env.event() for _ in range(c)]
        t = times[node.name] = np.zeros(c)
        if isinstance(node, LinearPlan):
            mid = [env.event() for _ in range(c)]
            link = node.link if node.link.any() else None
            env.process(_tile(env, waiter(node.layer.inputs or ("in",)), node.tile, link, mid))
            env.process(_pmca(env, mid, node.pmca, res.get(node.name), out, t))
        else:
            op = node.op
            q = events[op.query]
            kv = [events[k] for k in op.keys]
            if op.causal:
                ready = (lambda k, q=q, kv=kv: env.all_of([q[k]] + [e[k] for e in kv]))
            else:
                ready = (lambda k, q=q, kv=kv: env.all_of([q[k]] + [e[-1] for e in kv]))
            n_srv = len(op.servers)
            for s, name in enumerate(op.servers):
                env.process(_attention(env, range(s, c, n_srv), ready, node.cost, res[name],
                                       out, t))
        events[node.name] = out
        last = node.name
    env.run()
    return times[last]


def network_latency(plan: Plan, engine: str = "des") -> float:
    """Latency (ns) of seq_len tokens through the planned network with the chosen engine."""
    if engine not in ENGINES:
        raise SpecError(f"engine: must be one of {', '.join(ENGINES)}; got {engine!r}")
    fn = block_des if engine == "des" else block_closed_form
    out, _ = run_blocks(plan, fn)
    return float(out[-1])


def _timing_key(hw: HardwareSpec) -> HardwareSpec:
    """The hardware point with every field that cannot change latency normalised (energy
    constants; converter bits when they cost no time), so equal timings share one simulation."""
    a = hw.aimc
    aimc = dataclasses.replace(
        a, adc_bits=a.adc_bits if a.adc_ns_per_bit else 8,
        dac_bits=a.dac_bits if a.dac_ns_per_bit else 8, mvm_energy_pj=0.0,
        adc_energy_scale_per_bit=1.0, converter_energy_share=0.0)
    pmca = dataclasses.replace(hw.pmca, redmule_pj_per_mac=0.0, core_pj_per_flop=0.0,
                               tcdm_pj_per_byte=0.0, l2_pj_per_byte=0.0, link_pj_per_byte=0.0)
    return dataclasses.replace(hw, aimc=aimc, pmca=pmca)


@functools.lru_cache(maxsize=2048)
def _cached_latency(network: Network, hw: HardwareSpec, rank: int, roles: frozenset,
                    seq_len: int, engine: str) -> float:
    """Memo of :func:`network_latency` keyed by everything latency depends on (pure function)."""
    lora = LoraSpec(rank=rank, placement=tuple(sorted(roles)) if roles else "none")
    return network_latency(build_plan(network, hw, lora, seq_len), engine)


def evaluate_network(network: Network, hw: HardwareSpec, lora: LoraSpec, seq_len: int = 320,
                     engine: str = "des") -> NetworkReport:
    """Latency, overhead, PMCA/AIMC ratio, TCDM, energy and adapter size of a whole network.

    ``engine``: ``"des"`` (SimPy discrete-event, default) or ``"closed_form"`` (no contention).
    Raises SpecError on bad input (tokens > seq_len, unknown engine, ...).
    """
    if engine not in ENGINES:
        raise SpecError(f"engine: must be one of {', '.join(ENGINES)}; got {engine!r}")
    check_run(hw, seq_len)
    roles = lora.roles
    key = _timing_key(hw)
    total = _cached_latency(network, key, lora.rank if roles else 0, roles, seq_len, engine)
    base = _cached_latency(network, key, 0, frozenset(), seq_len, engine)
    sizes = chunk_sizes(seq_len, hw.tokens)
    layers = []
    for layer in network.layers:
        rank = lora.rank if layer.role in roles else 0
        rep = layer_report(layer, hw, rank, seq_len, with_post=True)
        chunks_busy_aimc = rep.aimc_ns * (seq_len / hw.tokens)
        chunks_busy_pmca = (rep.pmca_ns + rep.digital_ns) * (seq_len / hw.tokens)
        layers.append(dataclasses.replace(rep, aimc_utilisation=chunks_busy_aimc / total,
                                          pmca_utilisation=chunks_busy_pmca / total))
    attn_energy = sum(attention_energy_pj(op, hw, sizes) * op.count for op in network.digital_ops)
    from .stages import attention_ns
    attn_ns = sum(float(attention_ns(op, hw, sizes).sum()) * op.count
                  for op in network.digital_ops)
    n_inst = sum(L.count for L in layers)
    aimc_ns = sum(L.aimc_ns * L.count for L in layers)
    pmca_ns = sum(L.pmca_ns * L.count for L in layers)
    adapted = [L for L in layers if L.rank > 0]
    peak = max((L.tcdm_bytes for L in layers), default=0)
    return NetworkReport(
        network=network.name, engine=engine, rank=lora.rank, placement=lora.placement,
        tokens=hw.tokens, seq_len=seq_len, aimc_ns=aimc_ns, pmca_ns=pmca_ns,
        ratio=pmca_ns / aimc_ns, max_ratio=max((L.ratio for L in adapted), default=0.0),
        total_ns=total, aimc_only_ns=base, overhead=total / base, tcdm_bytes=int(peak),
        tcdm_fits=peak <= hw.pmca.tcdm_kib * 1024,
        energy_pj=float(sum(L.energy_pj * L.count for L in layers) + attn_energy),
        adapter_params=network.adapter_params(lora.rank, roles), attention_ns=attn_ns,
        aimc_utilisation=sum(L.aimc_utilisation * L.count for L in layers) / n_inst,
        pmca_utilisation=sum(L.pmca_utilisation * L.count for L in layers) / n_inst,
        layers=layers)
