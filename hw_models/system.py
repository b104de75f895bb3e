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
from .area import with_size
from .closed_form import block_closed_form, chain, layer_report, linear_done, run_blocks
from .plan import AttentionPlan, LinearPlan, Plan, build_plan, check_run
from .reports import NetworkReport
from .specs import HardwareSpec, LoraSpec
from .stages import attention_energy_pj, chunk_sizes
from .workload import Network

ENGINES = ("des", "closed_form")


def _pmca(env, arrivals, pmca_ns, res, out, times):
    """Process: a PMCA takes chunk k when its tile has delivered it (``arrivals[k]``, ns) and runs
    LoRA + accumulation + post-ops on its shared PMCA resource. While nobody else queues for the
    PMCA and the next chunk is already there, it keeps the resource instead of releasing and
    re-requesting it (same schedule, fewer events)."""
    k, c = 0, len(pmca_ns)
    while k < c:
        if arrivals[k] > env.now:
            yield env.timeout(arrivals[k] - env.now)
        with res.request() as req:
            yield req
            while True:
                yield env.timeout(pmca_ns[k])
                times[k] = env.now
                out[k].succeed()
                k += 1
                if k >= c or res.queue or arrivals[k] > env.now:
                    break


def _attention(env, chunks, ready, cost, res, out, times):
    """Process: one server's share of the attention chunks (round-robin), on a shared PMCA."""
    for k in chunks:
        yield from ready(k)
        with res.request() as req:
            yield req
            yield env.timeout(cost[k])
        times[k] = env.now
        out[k].succeed()


def _at(env: simpy.Environment, times: np.ndarray) -> list:
    """Events that fire at the given absolute times (inputs whose times are already known)."""
    return [env.timeout(float(t)) for t in times]


def shared_nodes(nodes) -> set:
    """Names of the nodes that hold a shared resource: attention and the PMCAs it runs on."""
    out = set()
    for node in nodes:
        if isinstance(node, AttentionPlan):
            out.add(node.name)
            out.update(node.op.servers)
    return out


def block_des(plan: Plan, nodes, x: np.ndarray, log: list | None = None) -> np.ndarray:
    """Output chunk times of one block (or the prologue) by discrete-event simulation.

    Stages that share a resource (attention and the PMCAs it runs on) are SimPy processes and
    resources, simulated event by event. A stage on an exclusive FIFO server (a tile; the PMCA of a
    layer nothing else uses) is advanced for all its chunks in one step with the max-plus recursion
    of :func:`~hw_models.closed_form.chain`, which is what its event simulation would compute
    (batched events, same result). ``log``, if given, receives (time, node, chunk) for every
    simulated completion.
    """
    shared = shared_nodes(nodes)
    done = {"in": x}

    def ready_of(inputs):
        return np.maximum.reduce([done[i] for i in inputs]) if len(inputs) > 1 \
            else done[inputs[0]]

    # exclusive nodes before the shared group, and the tile stages of the shared PMCAs
    pending = []
    tiles = {}
    for node in nodes:
        deps = node.layer.inputs if isinstance(node, LinearPlan) else node.op.inputs
        if node.name in shared or any(d not in done for d in deps):
            pending.append(node)
            if isinstance(node, LinearPlan) and all(d in done for d in deps):
                t = chain(ready_of(deps), node.tile)
                tiles[node.name] = chain(t, node.link) if node.link.any() else t
            continue
        done[node.name] = linear_done(node, ready_of(deps))
    if any(isinstance(n, LinearPlan) and n.name in shared and n.name not in tiles
           for n in pending):
        raise ValueError("shared PMCA fed by a shared stage: not supported")  # pragma: no cover
    if shared:
        _simulate_shared(plan, [n for n in pending if n.name in shared], tiles, done, log)
    for node in pending:
        if node.name in done:
            continue
        deps = node.layer.inputs
        done[node.name] = linear_done(node, ready_of(deps))
    return done[nodes[-1].name]


def _simulate_shared(plan: Plan, nodes, tiles: dict, done: dict, log) -> None:
    env = simpy.Environment()
    c = plan.chunks
    res, events, times = {}, {}, {}
    for node in nodes:
        if isinstance(node, LinearPlan):
            res[node.name] = simpy.Resource(env, capacity=1)
    for node in nodes:
        if isinstance(node, AttentionPlan):
            for name in node.op.inputs:
                if name not in res and name not in events:   # produced outside the group
                    events[name] = _at(env, done[name])
    for node in nodes:
        out = events[node.name] = [env.event() for _ in range(c)]
        t = times[node.name] = np.zeros(c)
        if isinstance(node, LinearPlan):
            env.process(_pmca(env, tiles[node.name], node.pmca, res[node.name], out, t))
        else:
            op = node.op
            q, kv = events[op.query], [events[k] for k in op.keys]

            def ready(k, q=q, kv=kv, causal=op.causal):
                yield q[k]
                for e in kv:
                    yield e[k] if causal else e[-1]

            n_srv = len(op.servers)
            for s, name in enumerate(op.servers):
                env.process(_attention(env, range(s, c, n_srv), ready, node.cost, res[name],
                                       out, t))
    env.run()
    done.update(times)
    if log is not None:
        log.extend(sorted((float(v), name, k) for name, arr in times.items()
                          for k, v in enumerate(arr)))


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
    return dataclasses.replace(hw, aimc=aimc, pmca=pmca, chip=type(hw.chip)())  # area: no time


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
    report = NetworkReport(
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
    return with_size(report, network, hw)   # tiles, area, chips; energy_pj gains the leakage
