"""One trial's record: what the objective writes into a trial once and every reader decodes once.

A :class:`TrialRecord` holds Optuna's own facts about a trial (number, state, parameters,
objective values, duration) and what codesign adds: the metrics, the constraint values, how it
ran (:class:`RunFacts`: worker, seconds, cache hit, skipped, the adapter training), the accuracy
against drift time with its noise draws (:class:`Drift`), the partial accuracy of a pruned
setting, and the reason it failed or was pruned. :func:`write` stores it in Optuna's
``user_attrs`` (and the constraints through ``Trial.set_constraint``, which Optuna's samplers and
``best_trials`` read); :func:`of` reads it back. This module is the only one that knows the layout
of those attributes (the training ledger's claims keep their own: :mod:`codesign.study.ledger`),
so ``results.py``, ``figures``, ``pick`` and the report read trials through it.

The stored layout is the one studies have had since trials were first recorded (keys
``metrics``, ``constraints``, ``run``, ``drift``, ``accuracy_metric``, ``partial``, ``reason``), so
a study written by an earlier codesign reads the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

#: a drift series: drift time label -> {"mean", "std"} (and "draws": the per-draw values)
Series = dict[str, dict[str, Any]]


#: the user attribute of a sibling trial (:mod:`codesign.study.siblings`): the trial whose
#: accuracy measurement it shares
SIBLING_OF = "sibling_of"
#: the user attribute of a promotion (:mod:`codesign.study.promotion`): the screened trial whose
#: point it measures again with its setting trained in full; that trial is then *superseded*
PROMOTES = "promotes"
#: trials with either attribute do not count towards n_trials (the sampler did not propose them)
UNCOUNTED = (SIBLING_OF, PROMOTES)


@dataclass
class Training:
    """What the training ledger says about one setting for one trial."""

    setting: str
    adapter_key: str
    status: str = "complete"            # complete | pruned
    start: Optional[str] = None         # adapter key it warm-started from
    screened: bool = False              # a screen: warm-started across noise (search.screen_steps)
    #: a screen: the accuracy points it is expected to lose against a full training, by what
    #: it changed from its start (codesign.study.warm.screen_loss); None: not known
    expected_loss: Optional[float] = None
    steps: int = 0                      # the adapter's training steps
    from_step: int = 0                  # steps this claim advanced: from_step -> to_step
    to_step: int = 0
    computed: int = 0                   # steps actually computed here (the rest: cached)
    pruned_at: Optional[int] = None
    proxy: Optional[float] = None
    ledger_trial: Optional[int] = None
    trained_here: bool = False
    waited_s: float = 0.0

    @property
    def pruned(self) -> bool:
        """Whether the ledger's pruner stopped this setting."""
        return self.pruned_at is not None

    @property
    def steps_trained(self) -> int:
        """Steps this trial's claim trained (0: it found the setting trained)."""
        return max(0, self.to_step - self.from_step) if self.trained_here else 0

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def decode(cls, data: dict[str, Any]) -> Training:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Drift:
    """Accuracy against drift time of one trial's adapters: the digital reference, the analog
    model before and after training (each a :data:`Series`, draws included)."""

    digital: Series
    analog_before: Series
    analog_after: Series


@dataclass
class RunFacts:
    """How a trial ran: who ran it, how long its evaluation took, where its accuracy came from."""

    worker: Optional[str] = None
    eval_s: Optional[float] = None
    accuracy_cache_hit: Optional[bool] = None
    accuracy_skipped: Optional[bool] = None
    training: Optional[Training] = None

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {"worker": self.worker, "eval_s": self.eval_s,
                               "accuracy_cache_hit": self.accuracy_cache_hit,
                               "accuracy_skipped": self.accuracy_skipped}
        if self.training is not None:
            out["training"] = self.training.record()
        return out

    @classmethod
    def decode(cls, data: dict[str, Any]) -> RunFacts:
        training = data.get("training")
        return cls(data.get("worker"), data.get("eval_s"), data.get("accuracy_cache_hit"),
                   data.get("accuracy_skipped"),
                   Training.decode(training) if training else None)


@dataclass
class TrialRecord:
    """One trial: Optuna's facts (filled by :func:`of`) and what the objective wrote (None: not
    recorded, e.g. the metrics of a trial that failed)."""

    number: int = -1
    state: str = "RUNNING"
    params: dict[str, Any] = field(default_factory=dict)
    values: Optional[list[float]] = None
    duration_s: Optional[float] = None
    metrics: Optional[dict[str, float]] = None
    constraints: Optional[dict[str, float]] = None
    run: Optional[RunFacts] = None
    drift: Optional[Drift] = None
    accuracy_metric: Optional[str] = None
    #: a pruned setting: its objectives with the accuracy of its last checkpoint
    partial: Optional[dict[str, float]] = None
    reason: Optional[str] = None
    #: a sibling trial (:mod:`codesign.study.siblings`): the trial whose accuracy measurement it
    #: shares (it differs only in axes the measurement does not see)
    sibling_of: Optional[int] = None
    #: a promotion (:mod:`codesign.study.promotion`): the screened trial whose point it measures
    #: again, its setting trained in full
    promotes: Optional[int] = None

    @property
    def feasible(self) -> Optional[bool]:
        """Every constraint met (None unless the trial is complete)."""
        if self.state != "COMPLETE":
            return None
        return all(v <= 0 for v in (self.constraints or {}).values())

    @property
    def training(self) -> Optional[Training]:
        return self.run.training if self.run is not None else None


def write(trial, rec: TrialRecord) -> None:
    """Store what ``rec`` records in a running Optuna trial (the fields that are not None)."""
    if rec.drift is not None:
        trial.set_user_attr("drift", dataclasses.asdict(rec.drift))
    if rec.accuracy_metric is not None:
        trial.set_user_attr("accuracy_metric", rec.accuracy_metric)
    if rec.partial is not None:
        trial.set_user_attr("partial", rec.partial)
    if rec.reason is not None:
        trial.set_user_attr("reason", rec.reason)
    if rec.metrics is not None:
        trial.set_user_attr("metrics", rec.metrics)
    if rec.constraints is not None:
        for name, value in rec.constraints.items():
            trial.set_constraint(name, value)
        trial.set_user_attr("constraints", rec.constraints)
    if rec.run is not None:
        trial.set_user_attr("run", rec.run.encode())


def of(trial) -> TrialRecord:
    """The record of a stored trial (an Optuna ``FrozenTrial``)."""
    attrs = trial.user_attrs or {}
    drift = attrs.get("drift")
    return TrialRecord(
        number=trial.number, state=trial.state.name, params=dict(trial.params),
        values=list(trial.values) if trial.values else None,
        duration_s=trial.duration.total_seconds() if trial.duration else None,
        metrics=attrs.get("metrics"), constraints=attrs.get("constraints"),
        run=RunFacts.decode(attrs["run"]) if attrs.get("run") else None,
        drift=Drift(drift.get("digital") or {}, drift.get("analog_before") or {},
                    drift.get("analog_after") or {}) if drift else None,
        accuracy_metric=attrs.get("accuracy_metric"), partial=attrs.get("partial"),
        reason=attrs.get("reason") or _fail_reason(trial), sibling_of=attrs.get(SIBLING_OF),
        promotes=attrs.get(PROMOTES))


def records(study) -> list[TrialRecord]:
    """Every trial of an Optuna study, in order, as records."""
    return [of(t) for t in study.get_trials(deepcopy=False)]


def _fail_reason(trial) -> Optional[str]:
    if trial.state.name != "FAIL":
        return None
    return trial.system_attrs.get("fail_reason") or "failed (see the worker's log)"


# -- the study's own attribute ------------------------------------------------------------------
_FINGERPRINT = "codesign.fingerprint"


def stored_fingerprint(study) -> Optional[dict[str, Any]]:
    """What a study was created with (objectives and axes), None for a new study."""
    return study.user_attrs.get(_FINGERPRINT)


def store_fingerprint(study, fingerprint: dict[str, Any]) -> None:
    study.set_user_attr(_FINGERPRINT, fingerprint)


def is_promotion(trial) -> bool:
    """Whether a stored or running trial is a promotion (:mod:`codesign.study.promotion`)."""
    return PROMOTES in (trial.user_attrs or {})


def is_counted(trial) -> bool:
    """Whether a stored trial counts towards n_trials: neither a sibling nor a promotion."""
    return not any(k in (trial.user_attrs or {}) for k in UNCOUNTED)


def superseded(recs: list[TrialRecord]) -> dict[int, int]:
    """Screened trials measured again by a complete promotion: {screened trial: promotion}."""
    return {r.promotes: r.number for r in recs if r.promotes is not None and r.state == "COMPLETE"}


def enqueue_sibling(study, params: dict[str, Any], of: int) -> None:
    """Queue ``params`` as a sibling of trial ``of``."""
    study.enqueue_trial(params, user_attrs={SIBLING_OF: of}, skip_if_exists=False)


def enqueue_promotion(study, params: dict[str, Any], of: int) -> None:
    """Queue ``params`` as the promotion of screened trial ``of``."""
    study.enqueue_trial(params, user_attrs={PROMOTES: of}, skip_if_exists=False)
