"""codesign: hardware/algorithm co-design of analog in-memory computing accelerators for transformers.

The flow runs one way: YAML study -> typed config (codesign.config) -> evaluators (hw_models for
latency/memory/energy, codesign.accuracy for accuracy) -> Optuna study (codesign.study) ->
results tables and Pareto fronts (codesign.results), figures (codesign.figures), a picked
configuration (codesign.pick) and an HTML report (codesign.report).
"""

__version__ = "0.1.0"
