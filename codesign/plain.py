"""Plain Python values from what pandas, numpy and dataclasses hand back, for YAML files and labels."""

from __future__ import annotations

import math
from typing import Any


def plain(obj: Any, nonfinite_as_text: bool = False) -> Any:
    """numpy scalars -> Python numbers; mappings -> dicts with text keys; lists, tuples and sets ->
    lists; recursively. With ``nonfinite_as_text``, inf and nan become 'inf' and 'nan'."""
    if hasattr(obj, "item") and not isinstance(obj, (dict, list, tuple)):
        obj = obj.item()
    if isinstance(obj, dict):
        return {str(k): plain(v, nonfinite_as_text) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [plain(v, nonfinite_as_text) for v in obj]
    if nonfinite_as_text and isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj
