"""codesign: hardware/algorithm co-design of analog in-memory computing accelerators for transformers.

The flow runs one way: YAML study -> typed config (codesign.config) -> evaluators (hw_models for
latency/memory/energy, codesign.accuracy for accuracy) -> Optuna study (codesign.study) ->
results table, Pareto fronts, plots and a picked configuration (codesign.results).
"""

__version__ = "0.1.0"
