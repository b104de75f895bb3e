"""Model vs the AHWA-LoRA paper's single-layer figures: prints one JSON object, then a table.

    .venv/bin/python benchmarks/calibration.py            # JSON line + Markdown table
    .venv/bin/python benchmarks/calibration.py --json     # the JSON only

``fit`` re-derives the free constants by least squares (the shipped defaults in hw_models/specs.py
are these values rounded); ``rows`` compares the calibrated model with the paper: 512x128 figures
are fits or predictions as marked, every 128x128 figure is a prediction.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw_models import PmcaSpec  # noqa: E402
from hw_models.calibration import calibration_rows, fit, format_table  # noqa: E402


def main(argv: list[str]) -> int:
    pmca = PmcaSpec()
    fitted = fit(pmca)
    shipped = {k: getattr(pmca, k) for k in fitted}
    rows = calibration_rows(pmca)
    print(json.dumps({"fit": fitted, "shipped": shipped, "rows": rows}))
    if "--json" not in argv:
        print()
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
