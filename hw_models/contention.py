"""Contention for borrowed PMCAs, computed exactly without an event loop.

Attention that runs on clusters borrowed from a block's linear layers gets them only when the
layer's own PMCA work leaves them idle: the layer's work preempts it, and it resumes where it left
off (preemptive-resume at low priority; see :func:`hw_models.system.block_des`). The layer itself
never waits for attention, so its busy intervals are those of the closed form
(:func:`~hw_models.closed_form.linear_done`). On one borrowed cluster a FIFO of attention jobs
then runs in *idle time*: with ``I(t)`` the idle time of the cluster before t, a job that starts
at s and needs w ns of it ends at the first t with ``I(t) = I(s) + w``. In idle-time coordinates
the FIFO is the plain max-plus chain, so every chunk's finish follows from prefix sums
(:func:`preempted_chain`), with no event per preemption.

When an attention borrows the clusters of layers downstream of it (``mapping = block``), their
busy intervals depend on its own finishes; :func:`contended_done` then iterates the block to its
fixed point, which is unique (every dependency has a positive delay, so the earliest difference
between two self-consistent schedules cannot exist) and so is the event simulation's schedule.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .closed_form import attention_ready, chain, node_done
from .plan import AttentionPlan, LinearPlan

#: passes over a block whose attention borrows downstream layers before giving up (the caller
#: then runs the SimPy simulation); assumed: a bound on work, not on accuracy (dimensionless)
MAX_PASSES = 64


class Busy(NamedTuple):
    """A server's busy intervals [start, end) (ns; sorted, disjoint) with their prefix sums."""

    start: np.ndarray
    end: np.ndarray
    before: np.ndarray       #: busy time before interval j (one more entry: all of it)
    idle_at_start: np.ndarray  #: idle time before interval j starts


def busy_intervals(done: np.ndarray, work: np.ndarray) -> Busy:
    """The busy intervals of a FIFO server's non-empty jobs, given their completion times and
    durations (a FIFO server starts a job once the previous one has ended: sorted, disjoint)."""
    busy = work > 0
    end = done[busy]
    start = end - work[busy]
    before = np.concatenate(([0.0], (end - start).cumsum()))
    return Busy(start, end, before, start - before[:-1])


def idle_before(busy: Busy, t: np.ndarray) -> np.ndarray:
    """Idle time (ns) of the server before the times t."""
    j = np.searchsorted(busy.start, t, side="right")          # intervals begun by t
    overrun = np.maximum(busy.end[np.maximum(j - 1, 0)] - t, 0.0) * (j > 0)
    return t - (busy.before[j] - overrun)


def idle_inverse(busy: Busy, u: np.ndarray) -> np.ndarray:
    """The first time (ns) by which the server has been idle for ``u`` ns (inverse of
    :func:`idle_before`): in the gap before the first interval that starts after that much
    idle time."""
    return u + busy.before[np.searchsorted(busy.idle_at_start, u, side="left")]


def preempted_chain(ready: np.ndarray, work: np.ndarray, busy: Busy) -> np.ndarray:
    """Completion times of FIFO jobs (ready times, durations in ns) on a server whose owner
    preempts them when it is busy: the max-plus chain in idle time, mapped back to time. A job of
    zero work ends when it starts. If no job meets a busy interval, this is the plain chain (bit
    for bit)."""
    plain = chain(ready, work)
    if not busy.start.size:
        return plain
    last = np.searchsorted(busy.start, plain, side="left") - 1  # last interval begun before the end
    if not ((last >= 0) & (busy.end[np.maximum(last, 0)] > plain - work) & (work > 0)).any():
        return plain
    u = chain(idle_before(busy, ready), work)
    return np.maximum.accumulate(np.maximum(idle_inverse(busy, u), ready))


def attention_contended(node: AttentionPlan, done: dict[str, np.ndarray],
                        linear: dict[str, LinearPlan]) -> np.ndarray:
    """Completion times of an attention's query chunks, each group's heads on its clusters: a
    dedicated cluster is a FIFO of its own, a borrowed one runs in its layer's idle time
    (``done``: completion times of the layers, which their own work alone sets)."""
    ready = attention_ready(node.op, done)
    out = np.empty_like(ready)
    n_groups = len(node.groups)
    busy: dict[str, Busy] = {}
    for g, group in enumerate(node.groups):
        idx = slice(g, None, n_groups)
        finish = []
        for owner, heads in group:
            work = heads * node.head_ns[idx]
            if not owner:
                finish.append(chain(ready[idx], work))
                continue
            if owner not in busy:
                busy[owner] = busy_intervals(done[owner], linear[owner].pmca)
            finish.append(preempted_chain(ready[idx], work, busy[owner]))
        out[idx] = np.maximum.reduce(finish) if len(finish) > 1 else finish[0]
    return out


def _one_pass(nodes, x: np.ndarray, last: dict[str, np.ndarray],
              linear: dict[str, LinearPlan]) -> dict[str, np.ndarray]:
    """Every node once, in order; a layer that attention borrows but that lies after it is taken
    from ``last`` (the previous pass)."""
    done = {"in": x}
    for node in nodes:
        if isinstance(node, LinearPlan):
            done[node.name] = node_done(node, done)
        else:
            done[node.name] = attention_contended(node, {**last, **done}, linear)
    return done


def contended_done(nodes, x: np.ndarray) -> dict[str, np.ndarray] | None:
    """Chunk completion times of every node of a block with attention on borrowed PMCAs (its
    input chunk times ``x``; ``"in"`` is x): the event simulation's schedule. Attention that
    borrows only layers before it takes one pass; otherwise passes start from the closed form's
    schedule and repeat until the attention's times no longer change, or None if they do not
    settle within :data:`MAX_PASSES` (then simulate)."""
    linear = {n.name: n for n in nodes if isinstance(n, LinearPlan)}
    position = {n.name: i for i, n in enumerate(nodes)}
    downstream = any(position[o] > position[n.name] for n in nodes
                     if isinstance(n, AttentionPlan) for o in n.borrowed)
    if not downstream:
        return _one_pass(nodes, x, {}, linear)
    done = {"in": x}
    for node in nodes:          # the closed form: every stage on its own server
        done[node.name] = node_done(node, done)
    attention = [n.name for n in nodes if isinstance(n, AttentionPlan)]
    for _ in range(MAX_PASSES):
        again = _one_pass(nodes, x, done, linear)
        if all(np.array_equal(again[a], done[a]) for a in attention):
            return again
        done = again
    return None
