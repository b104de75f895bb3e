"""Model vs published figures (HERMES, RedMulE, the AHWA-LoRA paper): prints one JSON object,
then a Markdown table.

    .venv/bin/python benchmarks/validation.py            # JSON line + Markdown table
    .venv/bin/python benchmarks/validation.py --json     # the JSON only

``rows``: one per published figure, with the model's value, the tolerance (or range) it must meet,
``ok``, and the source. ``mvm``: time and energy per component of one MVM on the HERMES-like core,
the paper's tile and the default tile (hw_models.aimc.mvm_breakdown). ``tile_breakdown``: the
default tile's and HERMES's MVM energy per part with its share and source (then printed as a
second table). Exit status 1 if a row fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw_models import AimcTileSpec, aimc  # noqa: E402
from hw_models.validation import (format_breakdown, format_table,  # noqa: E402
                                  tile_breakdown_rows, validation_rows)


def main(argv: list[str]) -> int:
    rows = validation_rows()
    tiles = {"hermes": AimcTileSpec.hermes(), "paper": AimcTileSpec.paper(),
             "default": AimcTileSpec()}
    mvm = {name: {**aimc.mvm_breakdown(t).to_dict(), "tops_per_watt": aimc.tops_per_watt(t)}
           for name, t in tiles.items()}
    ok = all(r["ok"] for r in rows)
    breakdown = tile_breakdown_rows()
    print(json.dumps({"all_ok": ok, "rows": rows, "mvm": mvm, "tile_breakdown": breakdown}))
    if "--json" not in argv:
        print()
        print(format_table(rows))
        print()
        print(format_breakdown(breakdown))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
