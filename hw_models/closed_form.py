"""Closed-form model of the same machine as the event simulation.

One layer: a chunked two-stage pipeline (tile, PMCA) whose makespan is the max-plus recursion
``done_k = max(done_{k-1}, ready_k) + s_k`` per stage, evaluated in closed form with prefix sums
(:func:`chain`). For c equal chunks it reduces to ``sum(stages) + (c - 1) max(stages)``.
A network: the same recursion over the block graph, each stage with its own server (no
contention), blocks chained and identical blocks extrapolated exactly (see :func:`run_blocks`).
"""

from __future__ import annotations

import numpy as np

from . import aimc
from ._fields import SpecError
from .plan import LinearPlan, Plan, check_run, linear_plan
from .reports import LayerReport
from .specs import HardwareSpec
from .stages import chunk_sizes
from .workload import LinearLayer


def chain(ready: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Completion times of chunks through one FIFO server: ``done_k = max(done_{k-1}, ready_k)
    + s_k``, in closed form: ``S_k + max_{j<=k}(ready_j - S_{j-1})`` with S the prefix sums."""
    S = s.cumsum()
    return S + np.maximum.accumulate(ready - (S - s))


def equal_chunks_makespan(stages: list[float], chunks: int) -> float:
    """Makespan of ``chunks`` identical chunks through a chain of stages (hand formula)."""
    return float(sum(stages) + (chunks - 1) * max(stages))


def tile_done(lp: LinearPlan, ready: np.ndarray) -> np.ndarray:
    """When each chunk reaches the layer's PMCA: input transfer, tile, readout (FIFO stages)."""
    done = chain(ready, lp.feed) if lp.feed is not None else ready
    done = chain(done, lp.tile)
    return chain(done, lp.link) if lp.link.any() else done


def linear_done(lp: LinearPlan, ready: np.ndarray) -> np.ndarray:
    """Completion times of a linear layer's chunks given their input-ready times (equal chunks:
    the tandem form of the same recursion, :attr:`LinearPlan.tandem`)."""
    tandem = lp.tandem
    if tandem is not None:
        return tandem[0] + np.maximum.accumulate(ready - tandem[1])
    return chain(tile_done(lp, ready), lp.pmca)


def attention_done(node, ready: np.ndarray) -> np.ndarray:
    """Completion times of the query chunks with every group on its own clusters (no
    contention): chunk k on group k mod G, each group FIFO."""
    out = np.empty_like(ready)
    n_groups = len(node.groups)
    for g in range(n_groups):
        idx = slice(g, None, n_groups)
        out[idx] = chain(ready[idx], node.cost(g)[idx])
    return out


def attention_ready(op, done: dict) -> np.ndarray:
    """When each query chunk can start: its query chunk and the keys/values it needs are done
    (all of them: a barrier; causal: those of chunks <= k)."""
    kv = np.maximum.reduce([done[k] for k in op.keys])
    kv = np.maximum.accumulate(kv) if op.causal else np.full_like(kv, kv.max())
    return np.maximum(done[op.query], kv)


def node_inputs(node) -> tuple[str, ...]:
    """The names of the nodes a block node waits for (``"in"``: the block input)."""
    if isinstance(node, LinearPlan):
        return node.layer.inputs or ("in",)
    return node.op.inputs


def node_done(node, done: dict[str, np.ndarray]) -> np.ndarray:
    """Completion times of one node's chunks on its own servers, its inputs' times in ``done``."""
    if not isinstance(node, LinearPlan):
        return attention_done(node, attention_ready(node.op, done))
    inputs = node_inputs(node)
    ready = np.maximum.reduce([done[i] for i in inputs]) if len(inputs) > 1 else done[inputs[0]]
    return linear_done(node, ready)


def closed_form_done(plan: Plan, nodes, x: np.ndarray) -> dict[str, np.ndarray]:
    """Chunk completion times of every node of a block (or the prologue) given its input chunk
    times ``x``, every stage on its own server (no contention); ``"in"`` is ``x``."""
    done = {"in": x}
    for node in nodes:
        done[node.name] = node_done(node, done)
    return done


def block_closed_form(plan: Plan, nodes, x: np.ndarray) -> np.ndarray:
    """Output chunk times of one block (or the prologue) given its input chunk times ``x``."""
    return closed_form_done(plan, nodes, x)[nodes[-1].name] if nodes else x


def run_blocks(plan: Plan, block_fn) -> tuple[np.ndarray, int]:
    """Chunk times at the network output: prologue (a chain of layers), then ``plan.blocks`` blocks.

    Blocks own their tiles and PMCAs, so block b+1 sees block b only through its output times x_b,
    and a block is shift-equivariant: F(x + s) = F(x) + s. Once x_{b+1} - x_b is a constant s, every
    later block adds s exactly; the remaining blocks are extrapolated instead of simulated.
    Blocks that differ (``plan.variants``) are each evaluated; the extrapolation applies once the
    remaining blocks are all the one just evaluated.
    Returns the output times and the number of blocks actually evaluated.
    """
    x = np.zeros(plan.chunks)
    if plan.prologue:
        x = block_fn(plan, plan.prologue, x)
    b = 0
    while b < plan.blocks:
        nodes = plan.variants[b] if plan.variants else plan.block
        y = block_fn(plan, nodes, x)
        b += 1
        d = y - x
        x = y
        same = not plan.variants or all(v is nodes for v in plan.variants[b:])
        if same and b < plan.blocks and np.ptp(d) <= 1e-9 * max(1.0, float(y[-1])):
            x = y + (plan.blocks - b) * d.mean()
            break
    return x, b


def layer_report(layer: LinearLayer, hw: HardwareSpec, rank: int, seq_len: int,
                 with_post: bool = False, network: bool = False,
                 writeback: bool = False, home=None) -> LayerReport:
    """A layer alone: stage times of a full chunk and seq_len tokens through its pipeline
    (``with_post``, ``network``, ``writeback``: as in a network, see stages.layer_stage), and the
    same layer without its adapter (``aimc_only_ns``: overhead exactly 1.0 at rank 0).
    ``home``: a digital layer with its weights there (hw_models.digital): no tiles (``tiles``
    0, ``aimc_ns`` 0, ``ratio`` 0), its GEMM in ``digital_ns``."""
    sizes = chunk_sizes(seq_len, hw.tokens)
    lp = linear_plan(layer, hw, rank, sizes, with_post, network, writeback, home)
    total = float(linear_done(lp, np.zeros(len(sizes)))[-1])
    full = lp.full
    if rank > 0:     # the same layer without its adapter (rank 0: that is this very run)
        lp0 = linear_plan(layer, hw, 0, sizes, with_post, network, writeback, home)
        aimc_only = float(linear_done(lp0, np.zeros(len(sizes)))[-1])
    else:
        aimc_only = total
    energy = sum(st.energy_pj * sizes.count(st.t) for st in lp.stages)
    peak = max(st.tcdm_bytes for st in lp.stages)
    return LayerReport(
        name=layer.name, role=layer.role, m=layer.m, n=layer.n, rank=rank, tokens=hw.tokens,
        seq_len=seq_len, aimc_ns=full.aimc_ns, pmca_ns=full.pmca_ns,
        ratio=full.pmca_ns / full.aimc_ns if full.aimc_ns else 0.0,
        readout_ns=full.readout_ns, total_ns=total,
        aimc_only_ns=aimc_only, overhead=total / aimc_only, tcdm_bytes=int(peak),
        tcdm_fits=peak <= hw.pmca.tcdm_kib * 1024,
        l2_bytes=float(sum(st.l2_bytes * sizes.count(st.t) for st in lp.stages)),
        energy_pj=float(energy), tiles=full.pmcas if home is None else 0, count=layer.count,
        digital_ns=full.post_ns + full.gemm_ns,
        tile_only_ns=seq_len * aimc.mvm_ns(hw.aimc) if home is None else 0.0,
        clusters=0 if home is None else full.pmcas)


def layer_closed_form(m: int, n: int, hw: HardwareSpec, rank: int, seq_len: int = 320
                      ) -> LayerReport:
    """Closed-form model of one pipelined AIMC tile + PMCA layer: m inputs, n outputs, a rank-r
    LoRA (0 = none), seq_len tokens in chunks of ``hw.tokens``. Raises SpecError on bad input."""
    for field, value in (("m", m), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise SpecError(f"{field}: must be a positive integer, got {value!r}")
    check_run(hw, seq_len, rank)
    layer = LinearLayer(f"{m}x{n}", "other", m, n)
    return layer_report(layer, hw, rank, seq_len)
