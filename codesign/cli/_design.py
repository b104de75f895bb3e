"""``--config FILE``: re-run one design point from a picked.yaml (or a study file's fixed point)."""

from __future__ import annotations

from pathlib import Path

from codesign.errors import InputError


def load_design(path: str | Path):
    """The DesignPoint of ``codesign pick``'s picked.yaml (its ``design:``) or of a study file."""
    from codesign.config import load_study
    from codesign.decode import decode
    from codesign.config.study import DesignPoint
    from codesign.safe_yaml import read_yaml_file

    data = read_yaml_file(Path(path), "--config")
    if isinstance(data, dict) and "design" in data:
        if not isinstance(data["design"], dict):   # a null would quietly be the defaults
            raise InputError(f"--config: {path}: design: must be a mapping of the design point "
                             f"(hardware, lora, accuracy, workload), got {data['design']!r:.40}")
        return decode(DesignPoint, data["design"], "design")
    if isinstance(data, dict) and "search_space" in data:
        return load_study(path).config.design
    raise InputError(f"--config: {path} is neither a picked.yaml (with design:) nor a study file")
