"""Typed configuration: study YAML -> :class:`StudyConfig`, strictly checked, with --set overrides.

Public API: :func:`load_study`, :func:`study_from_dict`, :class:`StudyConfig`, :class:`DesignPoint`.
"""

from __future__ import annotations

from pathlib import Path

from codesign.decode import decode
from codesign.config.overrides import Overrides, apply_overrides
from codesign.config.study import DesignPoint, Objective, StudyConfig, Workload
from codesign.errors import InputError
from codesign.metric_key import MetricKey
from codesign.metrics import METRICS, Direction, Rule, parse_rule
from codesign.safe_yaml import read_yaml_file
from codesign.search_space import Axis, load_space, param_name
from codesign.storage import check_url

__all__ = ["load_study", "study_from_dict", "StudyConfig", "DesignPoint", "Objective", "Workload",
           "LoadedStudy", "direction", "objective_key", "objective_metric", "objectives_of"]


#: design fields that only the accuracy model reads (an axis over one needs an accuracy metric)
ACCURACY_ONLY = ("accuracy.", "workload.accuracy.")


class LoadedStudy:
    """A checked study: its config, its axes, its constraint rules and the file it came from."""

    def __init__(self, config: StudyConfig, axes: dict[str, Axis], rules: list[Rule],
                 source: Path | None, raw: dict):
        self.config = config
        self.axes = axes
        self.rules = rules
        self.source = source
        self.raw = raw

    @property
    def needs_accuracy(self) -> bool:
        return any(METRICS[o.name].needs_accuracy for o in self.config.objectives) or any(
            METRICS[r.base].needs_accuracy for r in self.rules)


def load_study(path: str | Path, overrides: Overrides | None = None) -> LoadedStudy:
    """Read, override (``--set`` texts or a mapping of dotted paths) and check a study file;
    InputError (one line) on any problem."""
    path = Path(path)
    data = read_yaml_file(path, "study")
    if not isinstance(data, dict):
        raise InputError(f"study: {path} must hold a mapping (name:, search_space:, objectives:...)")
    return study_from_dict(apply_overrides(data, overrides or []), source=path)


def study_from_dict(data: dict, source: Path | None = None) -> LoadedStudy:
    config = decode(StudyConfig, data)
    _check_name(config.name)
    raw_objectives = data.get("objectives") or []
    for i, obj in enumerate(config.objectives):
        where = f"objectives[{i}]"
        if obj.name not in METRICS:
            raise InputError(f"{where}.name: unknown objective {obj.name!r}; "
                             f"known: {', '.join(METRICS)}")
        if METRICS[obj.name].needs_accuracy:
            _check_horizon(MetricKey.of(obj.name, obj.at, f"{where}.at"), config, f"{where}.at")
        elif isinstance(raw_objectives[i], dict) and "at" in raw_objectives[i]:
            raise InputError(f"{where}.at: {obj.name} is a hardware metric, the same at every "
                             f"drift time and draw; 'at' (a drift horizon or quantile) is for "
                             f"accuracy and accuracy_before only")
    names = [objective_key(o) for o in config.objectives]
    if len(set(names)) != len(names):
        raise InputError("objectives: the same objective is listed twice")
    if not config.objectives:
        raise InputError("objectives: give at least one objective")
    if config.storage is not None:
        check_url(config.storage, where="storage")
    rules = [parse_rule(text, f"constraints[{i}]") for i, text in enumerate(config.constraints)]
    for i, rule in enumerate(rules):
        _check_horizon(rule.key, config, f"constraints[{i}]")
    named = [o.name for o in config.objectives] + [r.metric for r in rules]
    if "decode_us_per_token" in named and config.workload.generate < 1:
        raise InputError("workload.generate: decode_us_per_token needs workload.generate >= 1 "
                         "(tokens generated after the seq_len-token prompt)")
    axes = load_space(config.search_space, config.design)
    loaded = LoadedStudy(config, axes, rules, source, data)
    if not loaded.needs_accuracy:
        if data.get("search"):
            raise InputError("search: this study trains no adapters (no accuracy objective or "
                             "constraint), so its search: section would be ignored; remove it or "
                             "add an accuracy objective")
        only = [path for path in axes if path.startswith(ACCURACY_ONLY)]
        if only:
            raise InputError(f"search_space.{param_name(only[0])}: changes only the accuracy "
                             f"model, which this study never runs (no accuracy objective or "
                             f"constraint): every value would give the same trial")
    return loaded


def direction(obj: Objective) -> Direction:
    """The objective's direction: its own, else its metric's natural one."""
    return obj.direction or METRICS[obj.name].direction


def objectives_of(loaded: LoadedStudy) -> list[tuple[str, str, str]]:
    """(column, direction, unit) of each objective of a loaded study."""
    return [(objective_key(o), direction(o), METRICS[o.name].unit) for o in loaded.config.objectives]


def objective_key(obj: Objective) -> str:
    """Column name of an objective in results tables: 'latency_us', 'accuracy@1d'."""
    return str(objective_metric(obj))


def objective_metric(obj: Objective) -> MetricKey:
    """The metric key an objective optimises: its ``at`` for accuracy metrics, else none."""
    if METRICS[obj.name].needs_accuracy:
        return MetricKey.of(obj.name, obj.at, "at")
    return MetricKey(obj.name)


def _check_name(name: str) -> None:
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name):
        raise InputError(f"name: must be letters, digits, '_', '-', '.' (a folder name), got {name!r}")


def _check_horizon(key: MetricKey, config: StudyConfig, where: str) -> None:
    """InputError unless the key's horizon (if any) is an evaluated drift time, mean or worst."""
    drift_times = list(config.accuracy.evaluation.drift_times)
    if key.horizon is not None and not key.aggregate and key.horizon not in drift_times:
        raise InputError(f"{where}: {key.horizon!r} is not an evaluated drift time; use one of "
                         f"{', '.join(drift_times)}, mean or worst (optionally with a quantile "
                         f"over the noise draws, e.g. 1y:p10)")
