"""Peak memory of a block of work: CUDA allocator peak on a GPU, sampled resident set on a CPU."""

from __future__ import annotations

import threading
import time


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            import os

            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakMemory:
    """``with PeakMemory(device) as pm: ...``; then ``pm.peak_bytes`` (above the level at entry
    for a CPU: the extra memory the block needed; total allocated for CUDA)."""

    def __init__(self, device, interval_s: float = 0.02):
        self.device = str(device)
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()

    def __enter__(self):
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()
            return self
        self._base = _rss_bytes()
        self._max = self._base
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._max = max(self._max, _rss_bytes())
            time.sleep(self.interval_s)

    def __exit__(self, *exc):
        if self.device.startswith("cuda"):
            import torch

            self.peak_bytes = int(torch.cuda.max_memory_allocated())
            return False
        self._stop.set()
        self._thread.join()
        self._max = max(self._max, _rss_bytes())
        self.peak_bytes = int(self._max - self._base)
        return False
