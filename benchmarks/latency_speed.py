"""Speed and memory of the hardware model: prints one JSON line.

    .venv/bin/python benchmarks/latency_speed.py

* ``per_config_ms``: full MobileBERT, rank 8, all layers, t = 8, seq 320, SimPy engine, median of
  25 cold runs (the latency and stage memos cleared before each run: every run simulates, with
  and without LoRA);
* ``per_config_closed_form_ms``: the same with the closed-form engine;
* ``naive_des_ms``: a naive SimPy run of the same network (one process per layer stage: input
  transfer, tile, PMCA; one event per chunk and stage, every block simulated), the yardstick of
  the 0.2x target;
* ``grid_s``: 1,500 configurations (5 ranks x 3 placements x 4 ADC bits x 5 token counts x
  5 integration times), MobileBERT, seq 320, SimPy engine, from a cold memo;
* ``llama_decode_ms``: LLaMA-3.1-8B, rank 16 (every layer), t = 8, integration 512 ns, 2,048 prompt
  tokens and 128 generated, as ``codesign latency --model llama-3.1-8b --rank 16 --tokens 8
  --integration-ns 512 --seq-len 2048 --generate 128`` evaluates it (the prefill's
  ``evaluate_network`` with contention, then ``decode_report``), median of 9 cold runs, wall
  time; ``llama_decode_cpu_ms``: the same runs' CPU time (this process), which a loaded machine
  does not inflate;
* ``peak_mb``: peak resident memory of this process (ru_maxrss).

Cold: the memos of latency, layer stages and attention head costs are cleared before each run.
"""

from __future__ import annotations

import itertools
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import simpy  # noqa: E402

import hw_models as H  # noqa: E402
from hw_models.decode import decode_report  # noqa: E402
from hw_models.plan import attention_costs, build_plan  # noqa: E402
from hw_models.stages import layer_stage  # noqa: E402
from hw_models.system import _cached_latency  # noqa: E402


def clear_memos() -> None:
    """Forget every memoised timing, so the next evaluation computes everything."""
    _cached_latency.cache_clear()
    layer_stage.cache_clear()
    attention_costs.cache_clear()


def cold(network, hw, lora, engine):
    clear_memos()
    start = time.perf_counter()
    H.evaluate_network(network, hw, lora, seq_len=320, engine=engine)
    return (time.perf_counter() - start) * 1e3


def llama_decode(runs: int = 9) -> tuple[float, float]:
    """Median wall and CPU ms of one cold LLaMA-3.1-8B prefill + decode evaluation."""
    net = H.load_network("llama-3.1-8b")
    hw = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=512), tokens=8)
    lora = H.LoraSpec(rank=16)
    wall, cpu = [], []
    for _ in range(runs + 1):           # the first run warms imports and is dropped
        clear_memos()
        w, c = time.perf_counter(), time.process_time()
        H.evaluate_network(net, hw, lora, seq_len=2048)
        decode_report(net, hw, lora, 2048, 128)
        wall.append((time.perf_counter() - w) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    return statistics.median(wall[1:]), statistics.median(cpu[1:])


def naive_des_ms(network, hw, lora) -> float:
    """One SimPy process per layer stage and block, one event per chunk and stage (a chain)."""
    plan = build_plan(network, hw, lora, 320)
    stages = [lp for lp in plan.prologue] + [n for n in plan.block if hasattr(n, "tile")] \
        * plan.blocks
    start = time.perf_counter()
    env = simpy.Environment()
    c = plan.chunks
    prev = [env.timeout(0) for _ in range(c)]

    def stage(env, inbox, ns, out):
        for k in range(c):
            yield inbox[k]
            yield env.timeout(ns[k])
            out[k].succeed()

    for lp in stages:
        for ns in [x for x in (lp.feed, lp.tile, lp.pmca) if x is not None]:
            out = [env.event() for _ in range(c)]
            env.process(stage(env, prev, ns, out))
            prev = out
    env.run()
    return (time.perf_counter() - start) * 1e3


def main() -> int:
    net = H.load_network("mobilebert")
    hw = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=256), tokens=8)
    lora = H.LoraSpec(rank=8, placement="all")
    cold(net, hw, lora, "des")  # warm imports
    per = statistics.median(cold(net, hw, lora, "des") for _ in range(25))
    per_cf = statistics.median(cold(net, hw, lora, "closed_form") for _ in range(25))
    naive = statistics.median(naive_des_ms(net, hw, lora) for _ in range(5))
    llama_ms, llama_cpu_ms = llama_decode()
    clear_memos()
    grid = list(itertools.product((1, 2, 4, 8, 16), ("all", "qkv", "ffn"), (4, 6, 7, 8),
                                  (8, 16, 32, 64, 128), (64, 128, 256, 384, 512)))
    start = time.perf_counter()
    totals = []
    for rank, placement, bits, t, tint in grid:
        point = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=tint, adc_bits=bits,
                                                   dac_bits=bits), tokens=t)
        rep = H.evaluate_network(net, point, H.LoraSpec(rank=rank, placement=placement))
        totals.append(rep.total_ns)
    grid_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "per_config_ms": round(per, 2), "per_config_closed_form_ms": round(per_cf, 2),
        "naive_des_ms": round(naive, 1), "llama_decode_ms": round(llama_ms, 1),
        "llama_decode_cpu_ms": round(llama_cpu_ms, 1), "grid_configs": len(grid),
        "grid_s": round(grid_s, 2),
        "grid_distinct_timings": _cached_latency.cache_info().currsize,
        "peak_mb": round(peak_mb, 1), "checksum_total_ns": float(np.sum(totals)),
        "machine": "2-core CPU, this dev machine (shared)"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
