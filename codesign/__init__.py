"""codesign: hardware/algorithm co-design of analog in-memory computing accelerators for transformers.

The flow runs one way: YAML study -> typed config (codesign.config) -> evaluators (hw_models for
latency/memory/energy, codesign.accuracy for accuracy) -> Optuna study (codesign.study) ->
results tables and Pareto fronts (codesign.results), figures (codesign.figures), a picked
configuration (codesign.pick) and an HTML report (codesign.report).

The Python API (everything in ``__all__``)::

    import codesign

    study = codesign.load_study({"name": "demo", "sampler": "random", "n_trials": 12,
                                 "search_space": {"lora.rank": {"choices": [1, 8, 32]},
                                                  "hardware.tokens": {"choices": [1, 8, 32]}},
                                 "objectives": [{"name": "latency_us"}, {"name": "adapter_params"}]})
    stored = codesign.run_study(study)            # storage=None: kept in memory, no file
    codesign.trials_table(stored)                 # pandas DataFrame, one row per trial
    codesign.pareto_table(stored)                 # the front's rows
    codesign.plot_pareto(stored)                  # matplotlib Axes
    codesign.evaluate_point({"lora": {"rank": 8}})  # one design point's hardware metrics

Importing codesign changes no global state and imports neither Optuna, pandas nor matplotlib.
"""

__version__ = "0.1.0"

from codesign._api import (StoredStudy, evaluate_point, load_study, open_study, pareto_table,
                           plot_pareto, run_study, trials_table)
from codesign.config import DesignPoint, LoadedStudy, StudyConfig
from codesign.errors import InputError, NotAvailable

__all__ = ["DesignPoint", "InputError", "LoadedStudy", "NotAvailable", "StoredStudy", "StudyConfig",
           "__version__", "evaluate_point", "load_study", "open_study", "pareto_table",
           "plot_pareto", "run_study", "trials_table"]
