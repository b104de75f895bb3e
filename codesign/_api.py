"""The public Python API, re-exported by :mod:`codesign` (``import codesign``).

A thin façade over the modules the command line uses (as ``optuna.create_study`` /
``Study.optimize`` are over Optuna's internals): :func:`load_study` (a file or a dict ->
:class:`~codesign.config.LoadedStudy`), :func:`run_study` and :func:`open_study` (->
:class:`StoredStudy`), :func:`trials_table` / :func:`pareto_table` (pandas DataFrames),
:func:`plot_pareto` (a matplotlib Axes) and :func:`evaluate_point` (one design point's metrics).

Rules every function here keeps:

* Bad input raises :class:`codesign.errors.InputError` (a ValueError) with one line that names
  the argument or field (``storage: ...``, ``n_trials: ...``, ``hardware.aimc.adc_bits: ...``),
  never a command-line flag.
* No call changes the process's global state: log levels and handlers, ``warnings`` filters,
  environment variables and torch's thread count stay as the caller set them (Optuna's
  per-trial INFO lines are held back during :func:`run_study` only, and its level restored
  after; the accuracy model's offline-hub variables and thread count are put back after each
  call). Importing ``codesign`` imports neither Optuna, pandas nor matplotlib.
* ``storage=None`` (or ``"sqlite:///:memory:"``) keeps a study in this process's memory: no file,
  no lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence, Union

from codesign.errors import INPUT_ERRORS, InputError

if TYPE_CHECKING:
    import matplotlib.axes
    import optuna
    import pandas as pd

    from codesign.config import LoadedStudy
    from codesign.config.study import DesignPoint

__all__ = ["StoredStudy", "evaluate_point", "load_study", "open_study", "pareto_table",
           "plot_pareto", "run_study", "trials_table"]

#: what :func:`load_study` reads: a study file's path, a mapping (the YAML's content), or a
#: study already loaded
StudySource = Union[str, os.PathLike, Mapping[str, Any], "LoadedStudy", "StoredStudy"]

#: command-line flags that shared code names in its messages -> the argument a Python caller gave
_ARGUMENTS = {"--storage": "storage", "--n-trials": "n_trials", "--out": "out",
              "--set": "overrides"}
_FLAGS = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, _ARGUMENTS)) + r")(?![\w-])")


@dataclasses.dataclass
class StoredStudy:
    """A study definition together with its trials in a storage.

    Returned by :func:`run_study` and :func:`open_study`; :func:`trials_table`,
    :func:`pareto_table` and :func:`plot_pareto` read it. Use it as a context manager (or call
    :meth:`close`) to release a database's connections.

    Attributes:
        definition: the checked study (:class:`codesign.config.LoadedStudy`: its config, search
            axes and constraint rules).
        optuna_study: the underlying :class:`optuna.study.Study`.
        storage: the storage URL (``inmemory://...`` for a study kept in memory). It may hold a
            password: print ``codesign.storage.redact(storage)``.
        added: trials the last :func:`run_study` call added (0 for :func:`open_study`).
        gave_up: True when that run stopped after ``max_failures`` failed trials in a row.
    """

    definition: LoadedStudy
    optuna_study: optuna.Study
    storage: str
    added: int = 0
    gave_up: bool = False
    _storage: Any = dataclasses.field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The study's name (its key in the storage)."""
        return self.definition.config.name

    def close(self) -> None:
        """Release the storage's pooled database connections (an in-memory study stays usable
        while this object lives)."""
        from codesign.study import close_storage

        if self._storage is not None:
            close_storage(self._storage)

    def __enter__(self) -> StoredStudy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_study(source: StudySource, overrides: Sequence[str] | Mapping[str, Any] = ()) -> LoadedStudy:
    """Read and check a study definition.

    Args:
        source: a study YAML file (``"studies/quickstart.yaml"``), a mapping with the same
            content (``{"name": "demo", "search_space": {...}, "objectives": [...]}``), or a
            study already loaded (returned as it is when there are no overrides).
        overrides: field overrides, as the command line's ``--set``: strings
            ``"hardware.pmca.tcdm_kib=256"`` (the value is YAML), or a mapping
            ``{"hardware.pmca.tcdm_kib": 256}``.

    Returns:
        The checked study (:class:`codesign.config.LoadedStudy`).

    Raises:
        InputError: a field is unknown or out of range (the message names it).
    """
    from codesign import config
    from codesign.config.overrides import apply_overrides, override_items

    with _python_errors():
        texts = override_items(overrides)    # checked before the source is read
        if isinstance(source, StoredStudy):
            source = source.definition
        if isinstance(source, config.LoadedStudy):
            if not texts:
                return source
            return config.study_from_dict(apply_overrides(source.raw, overrides), source.source)
        if isinstance(source, Mapping):
            return config.study_from_dict(apply_overrides(dict(source), overrides))
        if isinstance(source, (str, os.PathLike)):
            return config.load_study(Path(source), overrides)
    raise InputError(f"study: expected a path to a study YAML file or a mapping, "
                     f"got {type(source).__name__}")


def run_study(study: StudySource, storage: str | None = None, n_trials: int | None = None, *,
              out: str | os.PathLike = "results", progress: bool = False, heartbeat_s: int = 10,
              max_failures: int = 5) -> StoredStudy:
    """Create or resume a study and add trials until it holds ``n_trials``.

    The Python form of ``codesign run``, without writing any results file (see
    :func:`trials_table`, :func:`pareto_table`, :func:`plot_pareto`).

    Args:
        study: what :func:`load_study` takes, or a :class:`StoredStudy` to grow (its own
            storage is used when ``storage`` is None).
        storage: an Optuna storage URL (``sqlite:///PATH``, ``postgresql://...``: workers in
            other processes may join). None: the study's ``storage:`` field if it sets one, else
            a storage in this process's memory (no file), as is ``"sqlite:///:memory:"``.
        n_trials: trials the study should hold when the call returns (finished, pruned or
            failed ones count; default: the study's ``n_trials``).
        out: results root; a study with accuracy objectives keeps its adapter cache and
            training artifacts under it (a latency-only study writes nothing there).
        progress: show a progress bar (tqdm).
        heartbeat_s: trial heartbeat period, seconds (database storages): a trial silent for
            three periods is failed and re-queued.
        max_failures: stop after this many failed trials in a row.

    Returns:
        The study and its trials (:class:`StoredStudy`).

    Raises:
        InputError: a bad argument or study field (the message names it).
    """
    from codesign import study as study_module
    from codesign.config.study import MAX_TRIALS

    if isinstance(study, StoredStudy) and storage is None:
        storage = study.storage
    loaded = load_study(study)
    _check_int("n_trials", n_trials, 1, MAX_TRIALS, optional=True)
    _check_int("heartbeat_s", heartbeat_s, 1, 3600)
    _check_int("max_failures", max_failures, 1, 10**6)
    url = _storage_url(storage, loaded)
    with _python_errors(), _quiet_optuna(), _settings_restored(loaded.needs_accuracy):
        summary = study_module.run_study(loaded, Path(out), n_trials=n_trials, storage_url=url,
                                         progress=progress, heartbeat_s=heartbeat_s,
                                         max_failures=max_failures)
    return StoredStudy(loaded, summary.study, summary.storage_url, summary.added,
                       summary.gave_up, summary.storage)


def open_study(study: StudySource, storage: str | None = None, *,
               out: str | os.PathLike = "results") -> StoredStudy:
    """Open a study that has run, to read it (nothing in its storage is changed).

    Args:
        study: what :func:`load_study` takes (the definition the study ran with).
        storage: its storage URL. None: the study's ``storage:`` field, else the command line's
            default ``sqlite:///<out>/<name>/study.db``.
        out: the results root of that default.

    Returns:
        The study and its trials (:class:`StoredStudy`).

    Raises:
        InputError: no such database or no such study in it (the message names ``storage``).
    """
    import optuna

    from codesign.storage import default_url, is_memory, redact
    from codesign.study import make_storage

    if isinstance(study, StoredStudy) and storage is None:
        storage = study.storage
    loaded = load_study(study)
    cfg = loaded.config
    url = _storage_url(storage, loaded, default_url(out, cfg.name))
    with _python_errors():
        handle = make_storage(url, readonly=not is_memory(url))
        try:
            found = optuna.load_study(study_name=cfg.name, storage=handle)
        except KeyError:
            raise InputError(f"storage: no study {cfg.name!r} in {redact(url)} "
                             f"(run it first: codesign.run_study)") from None
    return StoredStudy(loaded, found, url, _storage=handle)


def trials_table(study: StoredStudy) -> pd.DataFrame:
    """One row per trial, as ``trials.csv``: number, state, feasible, timings, the parameters,
    the objectives, every metric and each constraint's value (``constraint[...]``: <= 0 holds).

    Args:
        study: a study from :func:`run_study` or :func:`open_study`.

    Returns:
        A pandas DataFrame (columns as docs/guide/results.md describes them).
    """
    from codesign import results

    _check_stored(study)
    return results.trials_table(study.optuna_study, study.definition)


def pareto_table(study: StoredStudy) -> pd.DataFrame:
    """The rows of :func:`trials_table` on the Pareto front: the feasible complete trials that no
    other feasible trial dominates (Optuna's ``best_trials``), as ``pareto.csv``.

    Args:
        study: a study from :func:`run_study` or :func:`open_study`.

    Returns:
        A pandas DataFrame with the columns of :func:`trials_table`.
    """
    from codesign import results

    _check_stored(study)
    table = results.trials_table(study.optuna_study, study.definition)
    return results.pareto_table(study.optuna_study, study.definition, table)


def plot_pareto(study: StoredStudy, ax: matplotlib.axes.Axes | None = None, *,
                x: str | None = None, y: str | None = None,
                color_by: str | None = "auto") -> matplotlib.axes.Axes:
    """Draw the study's trials and Pareto front for two objectives, as ``pareto.png`` does.

    Dominated trials are grey, infeasible ones crosses, the front coloured by a parameter the
    study varies. A one-objective study is drawn against the trial number.

    Args:
        study: a study from :func:`run_study` or :func:`open_study`.
        ax: the matplotlib Axes to draw into; None: a new figure's (made without pyplot: show it
            with ``ax.figure`` in a notebook, or ``ax.figure.savefig(...)``).
        x, y: the objectives (result columns such as ``latency_us``, ``accuracy@1d``) on each
            axis; default: the study's first two.
        color_by: the parameter that colours the front; "auto": rank, else ADC bits, else
            another knob the study varies; None: one colour.

    Returns:
        The Axes drawn into.

    Raises:
        InputError: ``x``, ``y`` or ``color_by`` names no objective / parameter of the study.
    """
    from codesign.config import objectives_of
    from codesign.figures.data import pareto_data
    from codesign.figures.draw import draw_pareto_panel

    table = trials_table(study)
    front = pareto_table(study)
    objectives = objectives_of(study.definition)
    columns = [c for c, _, _ in objectives]
    if color_by not in (None, "auto") and color_by not in table.columns:
        raise InputError(f"color_by: {color_by!r} is no parameter of this study; "
                         f"give one of {', '.join(_params(study))}, 'auto' or None")
    data = pareto_data(table, front, objectives, color_by)
    panel = _panel(data.panels, columns, x, y)
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(5.5, 4.2), layout="constrained").add_subplot()
    draw_pareto_panel(ax, panel, data)
    ax.set_title(data.title, fontsize=9)
    return ax


def evaluate_point(point: DesignPoint | Mapping[str, Any] | StudySource, accuracy: bool = False,
                   *, cache_dir: str | os.PathLike | None = None,
                   progress: bool = False) -> dict[str, float]:
    """One design point's metrics: latency, energy, memory, adapter size and area from the
    hardware model (milliseconds); with ``accuracy=True`` also its accuracy after drift (the
    aihwkit model: minutes on a CPU the first time, then answered from the cache).

    Args:
        point: a :class:`codesign.config.DesignPoint`; a mapping of its fields
            (``{"hardware": {"aimc": {"adc_bits": 6}}, "lora": {"rank": 8},
            "workload": {"network": "mobilebert"}}``; what is left out keeps its default); or a
            study (its fixed design point, before the search varies it).
        accuracy: also train and evaluate the accuracy model.
        cache_dir: the adapter and result cache of the accuracy model (default:
            ``$CODESIGN_CACHE/accuracy``, else ``~/.cache/codesign/accuracy``, as
            ``codesign accuracy``).
        progress: show the accuracy model's progress bars.

    Returns:
        Metric name -> value (the names of ``codesign.metrics.METRICS``: ``latency_us``,
        ``energy_uj``, ``tcdm_kib``, ..., and ``accuracy@1d`` etc. with accuracy).

    Raises:
        InputError: a field is unknown or out of range (the message names it).
        RuntimeError: the accuracy model failed (its reason).
    """
    from codesign import evaluators

    design = _design_point(point)
    with _python_errors():
        metrics = evaluators.hardware_metrics(design)
        if not accuracy:
            return metrics
        from codesign.cli.accuracy import default_cache_dir

        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        with _settings_restored(torch_threads=True):
            outcome = evaluators.accuracy_outcome(design, cache, progress=progress)
    if not outcome.ok:
        raise RuntimeError(f"accuracy: {outcome.result.reason or outcome.result.status}")
    from codesign.accuracy.draws import series_with_draws

    after, before = series_with_draws(outcome.result.to_dict())
    metrics.update(evaluators.accuracy_metrics(after, before))
    return metrics


# --------------------------------------------------------------------------- helpers


def _storage_url(storage: Any, loaded: LoadedStudy, default: str | None = None) -> str:
    """The URL a Python call's ``storage`` argument names (see :func:`run_study`): that, else the
    study's ``storage:``, else ``default`` (a new in-memory storage when None)."""
    from codesign.storage import (check_url, is_memory, is_memory_request, memory_url,
                                  storage_url_of)

    storage = storage_url_of(storage, loaded.config.storage, default or memory_url())
    if not isinstance(storage, str):
        raise InputError(f"storage: expected a URL string or None, got {type(storage).__name__}")
    if not storage.strip():
        raise InputError("storage: empty URL; give sqlite:///PATH or "
                         "postgresql://USER:PASS@HOST/DB, or None for a study kept in memory")
    if is_memory(storage):
        return storage
    if is_memory_request(storage):
        return memory_url()
    return check_url(storage, where="storage")


def _check_int(name: str, value: Any, low: int, high: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name}: must be an integer from {low} to {high}, got {value!r}")


def _check_stored(study: Any) -> None:
    if not isinstance(study, StoredStudy):
        raise InputError(f"study: expected what codesign.run_study or codesign.open_study "
                         f"returns, got {type(study).__name__}")


def _params(study: StoredStudy) -> list[str]:
    from codesign.search_space import param_name

    return [param_name(p) for p in study.definition.axes]


def _panel(panels: list, columns: list[str], x: str | None, y: str | None):
    """The panel of objectives ``x`` (horizontal) and ``y``; its mirror image when the study
    lists them the other way round."""
    if len(columns) == 1:
        if x not in (None, "trial") or y not in (None, columns[0]):
            raise InputError(f"x, y: a one-objective study is drawn as trial vs {columns[0]}")
        return panels[0]
    for name, value in (("x", x), ("y", y)):
        if value is not None and value not in columns:
            raise InputError(f"{name}: {value!r} is no objective of this study; "
                             f"give one of {', '.join(columns)}")
    x = x or (columns[1] if y == columns[0] else columns[0])
    y = y or next(c for c in columns if c != x)
    if x == y:
        raise InputError(f"x, y: give two different objectives, got {x!r} twice")
    for panel in panels:
        if (panel.x, panel.y) == (x, y):
            return panel
        if (panel.x, panel.y) == (y, x):
            return _mirrored(panel)
    raise AssertionError(f"no panel for {x} and {y}")


def _mirrored(panel):
    def swap(points):
        return [(p[1], p[0], *p[2:]) for p in points]

    return dataclasses.replace(
        panel, x=panel.y, y=panel.x, x_label=panel.y_label, y_label=panel.x_label,
        others=swap(panel.others), infeasible=swap(panel.infeasible), pruned=swap(panel.pruned),
        front=swap(panel.front), front_line=swap(panel.front_line))


def _design_point(point: Any) -> DesignPoint:
    from codesign.config import LoadedStudy
    from codesign.config.study import DesignPoint
    from codesign.decode import decode

    if isinstance(point, DesignPoint):
        return point
    if isinstance(point, StoredStudy):
        return point.definition.config.design
    if isinstance(point, LoadedStudy):
        return point.config.design
    if isinstance(point, Mapping):
        return decode(DesignPoint, dict(point))
    raise InputError(f"point: expected a DesignPoint, a mapping of its fields or a study, "
                     f"got {type(point).__name__}")


@contextlib.contextmanager
def _python_errors() -> Iterator[None]:
    """Input errors raised by code the command line shares name its flags (``--storage: ...``);
    reworded here to name the Python argument (``storage: ...``), the same exception type."""
    try:
        yield
    except INPUT_ERRORS as exc:
        text = _FLAGS.sub(lambda m: _ARGUMENTS[m.group(1)], str(exc))
        if text == str(exc):
            raise
        raise type(exc)(text) from None


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines (a study created, every trial finished: the results are in the
    table) held back while a study runs, unless the caller's level already hides them; the
    level of Optuna's logger is restored afterwards (nothing global is left changed)."""
    import optuna  # noqa: F401  (its first import configures its logger: before ours)

    logger = logging.getLogger("optuna")
    before = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextlib.contextmanager
def _settings_restored(torch_threads: bool) -> Iterator[None]:
    """Put back what the accuracy model sets for the whole process while it runs (the command
    line wants it so): environment variables (``HF_HUB_OFFLINE``, ``HF_HUB_DISABLE_TELEMETRY``)
    and, with ``torch_threads``, torch's intra-op thread count (``CODESIGN_TORCH_THREADS``)."""
    environ = dict(os.environ)
    threads = None
    if torch_threads:
        import torch

        threads = torch.get_num_threads()
    try:
        yield
    finally:
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        for key, value in environ.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
