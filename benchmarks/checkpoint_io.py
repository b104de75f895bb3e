"""What a training checkpoint costs on disk and in time, as one JSON line.

    .venv/bin/python benchmarks/checkpoint_io.py

A checkpoint the size of MiniLM-L6's with LoRA rank 8 on all six linear layers of its six blocks
(331,776 adapter parameters): the adapter, the Adam state and the random states written through
the cache (safetensors + JSON, file digests in meta.json) and read back (digests checked, the
state decoded), 20 times each, on synthetic tensors of those shapes.
"""

import json
import os
import random
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from codesign.accuracy import cache, state_io

SHAPES = [(8, 384), (384, 8)] * 4 + [(8, 384), (1536, 8), (8, 1536), (384, 8)]


def main(n: int = 20) -> dict:
    params = [torch.nn.Parameter(torch.randn(*s)) for _ in range(6) for s in SHAPES]
    opt = torch.optim.Adam(params, lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / 20)
    sum((p ** 2).sum() for p in params).backward()
    opt.step()
    sched.step()
    state = {"step": 5, "optimizer": opt.state_dict(), "schedule": sched.state_dict(),
             "python_rng": random.Random(0).getstate(), "torch_rng": torch.get_rng_state()}
    root = Path(tempfile.mkdtemp())

    def write(d: Path) -> None:
        save_file({f"p{i}": p.detach() for i, p in enumerate(params)},
                  str(d / "adapter_model.safetensors"))
        (d / "adapter_config.json").write_text("{}")
        state_io.save(state, d)

    t = time.perf_counter()
    for i in range(n):
        cache.save_adapter_atomic(root, "k", write, {"step": 5},
                                  final=cache.checkpoint_dir(root, "k", i))
    written = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for i in range(n):
        assert cache.has_checkpoint(root, "k", i)
        state_io.load(cache.checkpoint_dir(root, "k", i))
    read = (time.perf_counter() - t) / n
    size = sum(p.stat().st_size for p in cache.checkpoint_dir(root, "k", 0).iterdir())
    return {"params": sum(p.numel() for p in params), "checkpoint_mib": round(size / 2**20, 2),
            "write_ms": round(written * 1000, 1), "verify_load_ms": round(read * 1000, 1),
            "repeats": n, "load_avg_1min": round(os.getloadavg()[0], 2)}


if __name__ == "__main__":
    print(json.dumps(main()))
