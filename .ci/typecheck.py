"""mypy over hw_models and codesign's core (pyproject.toml [tool.mypy]) against a baseline that only
shrinks: .ci/mypy-baseline.txt lists the errors still allowed, one ``path: message [code]`` a line
(no line numbers, so edits elsewhere in a file do not move them). Exit 1 on any error not in the
baseline, and on a baseline line that no longer occurs (delete it: the baseline only shrinks).
Run: .venv/bin/python .ci/typecheck.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
_ERROR = re.compile(r"^(?P<path>[^:]+):\d+(?::\d+)?: error: (?P<text>.*)$")


def errors(mypy_output: str) -> Counter[str]:
    """``path: message [code]`` of every error line (notes and the summary left out)."""
    found = (_ERROR.match(line) for line in mypy_output.splitlines())
    return Counter(f"{m['path']}: {m['text']}" for m in found if m)


def allowed(text: str) -> Counter[str]:
    return Counter(line for line in text.splitlines() if line.strip() and not line.startswith("#"))


def main() -> int:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not errors(proc.stdout)):
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return 2
    now, base = errors(proc.stdout), allowed(BASELINE.read_text())
    new, gone = now - base, base - now
    for line in sorted(new.elements()):
        print(f"new type error: {line}")
    for line in sorted(gone.elements()):
        print(f"fixed, delete from {BASELINE.relative_to(ROOT)}: {line}")
    print(f"mypy: {sum(now.values())} error(s), {sum(base.values())} in the baseline")
    return 1 if new or gone else 0


if __name__ == "__main__":
    sys.exit(main())
