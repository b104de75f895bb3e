"""The whole machine as a SimPy discrete-event simulation, and :func:`evaluate_network`.

Every linear layer owns its tiles and PMCAs (weights are stationary). Per block, SimPy processes
walk the chunks in order: a layer's inputs move into its tiles, the tile integrates chunk k+1 while
the PMCA works on chunk k, the readout holds the tile when it has one output buffer; a layer starts
a chunk when all its inputs have produced it. Attention waits for every key/value chunk (encoder: a
barrier) or for those up to its own chunk (causal) and runs, heads in parallel, on the clusters its
mapping names (:class:`~hw_models.specs.AttentionSpec`): borrowed PMCAs of the block's layers are
SimPy preemptive resources on which the layers' own work has priority (contention), dedicated
clusters are its own. The environment is created per call and passed explicitly; nothing is global.

The same schedule is computed without the event loop wherever attention contends
(:mod:`hw_models.contention`: preemptive-resume as a FIFO in the borrowed cluster's idle time);
SimPy stays the reference (``block_des(..., simpy_only=True)``) and the fallback.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import simpy

from . import aimc, digital
from ._fields import SpecError
from .area import digital_mapping, with_size
from .closed_form import (attention_ready, block_closed_form, chain, closed_form_done,
                          layer_report, node_done, node_inputs, run_blocks)
from .contention import contended_done
from .plan import AttentionPlan, LinearPlan, Plan, attention_plan, build_plan, check_run
from .reports import NetworkReport
from .specs import AimcTileSpec, HardwareSpec, LoraSpec
from .stages import chunk_sizes, group_cost, key_counts
from .workload import Network

ENGINES = ("des", "closed_form")


def _feeder(env, node: LinearPlan, inputs: list, arrive: list | None, pmca_done=None):
    """Process: a layer's FIFO stages before its PMCA (input transfer, tile, readout) for every
    chunk once its inputs have produced it; their times follow from the max-plus recursion, so
    each chunk costs one event. ``arrive[k]`` fires when chunk k reaches the PMCA. With
    ``pmca_done`` (an exclusive PMCA: nobody borrows it) the PMCA is chained here too and
    ``pmca_done(k, time)`` is called instead."""
    last = {"feed": 0.0, "tile": 0.0, "link": 0.0, "pmca": 0.0}
    has_link = bool(node.link.any())
    for k in range(len(node.tile)):
        for ev in inputs:
            yield ev[k]
        t = env.now
        if node.feed is not None:
            t = last["feed"] = max(t, last["feed"]) + node.feed[k]
        t = last["tile"] = max(t, last["tile"]) + node.tile[k]
        if has_link:
            t = last["link"] = max(t, last["link"]) + node.link[k]
        if pmca_done is not None:
            t = last["pmca"] = max(t, last["pmca"]) + node.pmca[k]
            env.timeout(t - env.now).callbacks.append(lambda _e, k=k, t=t: pmca_done(k, t))
        else:
            assert arrive is not None
            env.timeout(t - env.now).callbacks.append(lambda _e, k=k: arrive[k].succeed())


def _pmca(env, arrive: list, pmca_ns: np.ndarray, borrowed: list, done):
    """Process: a PMCA whose clusters attention borrows. Its own work (LoRA, accumulation,
    post-ops) has priority: it preempts any attention running on its clusters, so attention
    only uses the PMCA's idle time. It keeps its clusters across chunks that are already waiting."""
    k, c = 0, len(pmca_ns)
    while k < c:
        yield arrive[k]
        reqs = [r.request(priority=0, preempt=True) for r in borrowed]
        yield env.all_of(reqs)
        while True:
            yield env.timeout(pmca_ns[k])
            done(k, env.now)
            k += 1
            if k >= c or not arrive[k].triggered:
                break
        for r, req in zip(borrowed, reqs):
            r.release(req)


def _attention_part(env, chunks, ready, work: np.ndarray, res, finish):
    """Process: the heads that one layer's clusters (or dedicated clusters) of one group run for
    each of the group's query chunks, FIFO; on a borrowed PMCA at low priority, resuming where a
    preemption by the PMCA's own work left off."""
    for k in chunks:
        yield from ready(k)
        remaining = float(work[k])
        while res is not None and remaining > 0.0:
            with res.request(priority=1) as req:
                start = None
                try:
                    yield req
                    start = env.now
                    yield env.timeout(remaining)
                    remaining = 0.0
                except simpy.Interrupt:   # preempted (possibly as soon as it was granted)
                    if start is not None:
                        remaining -= env.now - start
        if res is None:
            yield env.timeout(remaining)
        finish(k)


def _at(env: simpy.Environment, times: np.ndarray) -> list:
    """Events that fire at the given absolute times (inputs whose times are already known)."""
    return [env.timeout(float(t)) for t in times]


def borrowed_layers(nodes) -> set:
    """Names of the layers whose PMCAs a block's attention borrows."""
    return set().union(*(n.borrowed for n in nodes if isinstance(n, AttentionPlan)))


def contended(nodes, done: dict[str, np.ndarray]) -> bool:
    """Whether, in the no-contention schedule ``done`` (closed form), attention would run on a
    borrowed PMCA while that PMCA's own layer works on it. If not, that schedule is exactly what
    the event simulation computes (nothing ever waits for or preempts anything)."""
    linear = {n.name: n for n in nodes if isinstance(n, LinearPlan)}
    for node in nodes:
        if not isinstance(node, AttentionPlan):
            continue
        ready = attention_ready(node.op, done)
        n_groups = len(node.groups)
        for g, group in enumerate(node.groups):
            idx = slice(g, None, n_groups)
            for owner, heads in group:
                if not owner:
                    continue
                work = heads * node.head_ns[idx]
                end = chain(ready[idx], work)
                start = end - work
                lp = linear[owner]
                p_end = done[owner]
                p_start = p_end - lp.pmca
                busy = lp.pmca > 0
                if not busy.any():
                    continue
                p_start, p_end = p_start[busy], p_end[busy]
                j = np.searchsorted(p_start, end, side="left") - 1
                hit = (j >= 0) & (p_end[np.maximum(j, 0)] > start) & (work > 0)
                if hit.any():
                    return True
    return False


def block_des(plan: Plan, nodes, x: np.ndarray, log: list | None = None,
              simpy_only: bool = False) -> np.ndarray:
    """Output chunk times of one block (or the prologue) by discrete-event simulation.

    When attention borrows the PMCAs of the block's layers, every stage is a SimPy process and
    each borrowed PMCA a preemptive resource per attention group: the layer's own work preempts
    attention, so attention fills the PMCAs' idle time (contention: in a causal decoder, and
    downstream of the barrier in an encoder). Stages on exclusive FIFO servers (tiles, transfers,
    PMCAs nobody borrows) advance with the max-plus recursion at one event per chunk. Without
    borrowing nothing contends and the schedule is the closed form's. ``log``, if given,
    receives (time, node, chunk) for every completion.

    The schedule is computed without the event loop where possible
    (:func:`~hw_models.contention.contended_done`, exact: the same schedule); ``simpy_only``
    always runs the SimPy simulation (the reference the tests compare it with).
    """
    fast = None
    if borrowed_layers(nodes) and not simpy_only:
        fast = contended_done(nodes, x)
    if fast is not None:
        done = fast
    else:
        done = closed_form_done(plan, nodes, x)
        if borrowed_layers(nodes) and contended(nodes, done):
            done = _simulate_contended(plan, nodes, x)
    if log is not None:
        log.extend(sorted((float(v), name, k) for name, arr in done.items() if name != "in"
                          for k, v in enumerate(arr)))
    return done[nodes[-1].name] if nodes else x


def _simulate_contended(plan: Plan, nodes, x: np.ndarray) -> dict[str, np.ndarray]:
    """Event-simulate the nodes that contend (attention, the layers it borrows, and what lies
    between them); the nodes before and after them follow from the max-plus recursion."""
    shared = borrowed_layers(nodes) | {n.name for n in nodes if isinstance(n, AttentionPlan)}
    leads: set[str] = set()          # nodes some shared node depends on (transitively)
    for node in reversed(nodes):
        if node.name in shared or node.name in leads:
            leads.update(node_inputs(node))
    simulated: set[str] = set()
    for node in nodes:
        if node.name in shared or (node.name in leads and set(node_inputs(node)) & simulated):
            simulated.add(node.name)
    known = {"in": x}
    for node in nodes:      # before the contended group
        if node.name not in simulated and all(d in known for d in node_inputs(node)):
            known[node.name] = node_done(node, known)
    known.update(_simulate(plan, [n for n in nodes if n.name in simulated], known))
    for node in nodes:      # after it
        if node.name not in known:
            known[node.name] = node_done(node, known)
    return known


def _simulate(plan: Plan, nodes, known: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    env = simpy.Environment()
    c = plan.chunks
    events: dict[str, list] = {}
    times: dict[str, np.ndarray] = {}
    for node in nodes:
        for d in node_inputs(node):
            if d in known and d not in events:
                events[d] = _at(env, known[d])
    owned: dict[str, list] = {}
    res: dict[tuple, simpy.PreemptiveResource] = {}
    for node in nodes:
        if isinstance(node, AttentionPlan):
            for g, group in enumerate(node.groups):
                for owner, _ in group:
                    if owner:
                        r = res[(node.name, g, owner)] = simpy.PreemptiveResource(env, 1)
                        owned.setdefault(owner, []).append(r)

    def completer(name):
        out, t = events[name], times[name]

        def done(k, when):
            t[k] = when
            out[k].succeed()
        return done

    for node in nodes:
        events[node.name] = [env.event() for _ in range(c)]
        times[node.name] = np.zeros(c)
        done = completer(node.name)
        if isinstance(node, LinearPlan):
            inputs = [events[i] for i in node_inputs(node)]
            if node.name in owned:
                arrive = [env.event() for _ in range(c)]
                env.process(_feeder(env, node, inputs, arrive))
                env.process(_pmca(env, arrive, node.pmca, owned[node.name], done))
            else:
                env.process(_feeder(env, node, inputs, None, done))
            continue
        op = node.op
        q, kv = events[op.query], [events[k] for k in op.keys]

        def ready(k, q=q, kv=kv, causal=op.causal):
            yield q[k]
            for e in kv:
                yield e[k] if causal else e[-1]

        n_groups = len(node.groups)
        for g, group in enumerate(node.groups):
            remaining = {k: len(group) for k in range(g, c, n_groups)}

            def finish(k, remaining=remaining, done=done):
                remaining[k] -= 1
                if remaining[k] == 0:
                    done(k, env.now)

            for owner, heads in group:
                env.process(_attention_part(env, range(g, c, n_groups), ready,
                                            heads * node.head_ns,
                                            res.get((node.name, g, owner)), finish))
    env.run()
    return times


def network_latency(plan: Plan, engine: str = "des") -> float:
    """Latency (ns) of seq_len tokens through the planned network with the chosen engine."""
    if engine not in ENGINES:
        raise SpecError(f"engine: must be one of {', '.join(ENGINES)}; got {engine!r}")
    fn = block_des if engine == "des" else block_closed_form
    out, _ = run_blocks(plan, fn)
    return float(out[-1])


def _timing_key(hw: HardwareSpec) -> HardwareSpec:
    """The hardware point with every field that cannot change latency normalised (energy
    constants; converter bits where they do not change the MVM time), so equal timings share one
    simulation."""
    if hw.digital.active:   # the chips (area) and their L2 place digital weights: keep it all
        return hw
    a = dataclasses.replace(hw.aimc, **{f: getattr(AimcTileSpec, f)
                                        for f in aimc.ENERGY_ONLY_FIELDS})
    t = aimc.mvm_ns(a)
    if aimc.mvm_ns(dataclasses.replace(a, adc_bits=8)) == t:
        a = dataclasses.replace(a, adc_bits=8)
    if aimc.mvm_ns(dataclasses.replace(a, dac_bits=8)) == t:
        a = dataclasses.replace(a, dac_bits=8)
    pmca = dataclasses.replace(hw.pmca, redmule_pj_per_mac=0.0, core_pj_per_flop=0.0,
                               redmule_energy_scale=1.0, link_mm=1.0, wire_activity=0.5,
                               node_nm=22.0)
    return dataclasses.replace(hw, aimc=a, pmca=pmca, chip=type(hw.chip)())  # area: no time


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
    feeds_attention = {name for op in network.digital_ops for name in op.inputs}
    dmap = digital_mapping(network, hw, lora)
    layers = []
    for layer, home in digital.layer_groups(network, dmap):
        rank = lora.rank if layer.role in roles else 0
        rep = layer_report(layer, hw, rank, seq_len, with_post=True, network=True,
                           writeback=layer.name in feeds_attention, home=home)
        chunks_busy_aimc = rep.aimc_ns * (seq_len / hw.tokens)
        chunks_busy_pmca = (rep.pmca_ns + rep.digital_ns) * (seq_len / hw.tokens)
        layers.append(dataclasses.replace(rep, aimc_utilisation=chunks_busy_aimc / total,
                                          pmca_utilisation=chunks_busy_pmca / total))
    if dmap is None:
        plans = [attention_plan(op, hw, lora, network.block, sizes) for op in network.digital_ops]
        counted = [(p, p.op.count) for p in plans]
    else:   # each block's attention as its digital layers leave the TCDM
        counted = _block_attention(build_plan(network, hw, lora, seq_len, sizes))
        plans = [p for p, _ in counted]
    attn_energy = sum(p.units * c * sum(x.energy_pj for x in p.costs) for p, c in counted)
    attn_ns = sum(p.units * c * sum(x.ns for x in p.costs) for p, c in counted)
    # the working set attention needs (K and V streamed); kept K and V only use spare TCDM
    attn_tcdm = max((max(c.tcdm_bytes for c in p.costs) if not p.kv_resident else
                     max(group_cost(p.op, hw, t, s, heads=p.stacked).tcdm_bytes
                         for t, s in set(zip(sizes, key_counts(p.op, sizes))))
                     for p in plans), default=0)
    n_inst = sum(L.count for L in layers)
    aimc_ns = sum(L.aimc_ns * L.count for L in layers)
    pmca_ns = sum(L.pmca_ns * L.count for L in layers)
    adapted = [L for L in layers if L.rank > 0]
    peak = max([L.tcdm_bytes for L in layers] + [attn_tcdm])
    report = NetworkReport(
        network=network.name, engine=engine, rank=lora.rank, placement=lora.placement,
        tokens=hw.tokens, seq_len=seq_len, aimc_ns=aimc_ns, pmca_ns=pmca_ns,
        ratio=pmca_ns / aimc_ns if aimc_ns else 0.0,
        max_ratio=max((L.ratio for L in adapted), default=0.0),
        total_ns=total, aimc_only_ns=base, overhead=total / base, tcdm_bytes=int(peak),
        tcdm_fits=peak <= hw.pmca.tcdm_kib * 1024,
        energy_pj=float(sum(L.energy_pj * L.count for L in layers) + attn_energy),
        adapter_params=network.adapter_params(lora.rank, roles), attention_ns=attn_ns,
        aimc_utilisation=sum(L.aimc_utilisation * L.count for L in layers) / n_inst,
        pmca_utilisation=sum(L.pmca_utilisation * L.count for L in layers) / n_inst,
        layers=layers, attention_tcdm_bytes=int(attn_tcdm),
        attention_kv_resident=any(p.kv_resident for p in plans),
        **digital.report_fields(network, hw, dmap))
    return with_size(report, network, hw)   # tiles, area, chips; energy_pj gains the leakage


def _block_attention(plan: Plan) -> list[tuple[AttentionPlan, int]]:
    """The attention plans of a plan's blocks, each with the blocks it stands for."""
    blocks = plan.variants or (plan.block,)
    per = 1 if plan.variants else plan.blocks
    return [(n, per) for nodes in blocks for n in nodes if isinstance(n, AttentionPlan)]
