"""The training ledger: each accuracy setting of a study trained once, across workers and machines.

Beside a study ``NAME`` its storage holds a single-objective Optuna study ``NAME:trainings``. Each
of its trials is one training of one accuracy *setting* (the train key of
:mod:`codesign.accuracy.cache`: everything that changes the adapters):

- **Claims.** Under the workers' lock (a file lock for SQLite, a PostgreSQL advisory lock), a
  worker that needs a setting looks it up: trained (COMPLETE) -> it uses the adapters; being
  trained by a live worker (RUNNING, heartbeat) -> it waits; otherwise it creates the trial (its
  claim) and trains. A dead trainer's trial goes stale with its heartbeat and the setting is
  claimed again.
- **Pruning.** The training reports the adapters' accuracy at checkpoints (``trial.report``,
  through :class:`codesign.study.pruners.TrialCheckpoints`) and the ledger's pruner
  (``search.pruner``) decides, among the settings at the same step, whether it goes on.
  Optuna's pruners are single-objective; the main study is multi-objective, so they run here,
  where the objective is the one training changes. A pruned setting keeps its checkpoints;
  claimed again, it re-reports them and resumes where it stopped if the pruner lets it.
- **Warm starts.** ``search.warm_start``: a new setting starts from the nearest adapter the
  ledger holds trained in full (:func:`codesign.study.warm.nearest_start`).
- **Screens.** ``search.screen_steps``: a setting whose warm-start family holds no adapter
  trained in full is *screened*: warm-started across every warm knob for a few steps (its claim
  says ``screened``); with ``search.screen_placements`` so is a setting whose placement holds
  no adapter trained in full, from one at a placement containing its layers. A screened
  setting asked for again in full (a promotion, :mod:`codesign.study.promotion`) is claimed
  again and trained as if no screen existed (or, with ``search.promote_steps`` below 1, from
  the screen's start for that fraction of the steps); from then on the ledger answers with
  that training.
- **Artifacts.** Adapters, checkpoints (each as it is reached) and results go to Optuna's
  artifact store (a folder, or S3: :mod:`codesign.study.artifacts`) and their ids and digests
  (sha256 and size) to the ledger study's user attributes, so a worker whose local cache lacks
  them downloads them instead of training. A download that is missing or does not match its
  digest (anyone who can write the store could have replaced it) is refused with one line and
  recomputed; nothing downloaded is unpickled or executed (:mod:`codesign.accuracy.state_io`).
- **Evaluating** a design point through the ledger: :mod:`codesign.study.training`.
- **Accounting.** Each ledger trial records the steps it advanced (``from_step`` -> ``to_step``):
  :func:`training_steps` sums them (what the search spent on training).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from codesign.config.search import SearchSettings
from codesign.study.artifacts import ArtifactShelf, artifact_store
from codesign.study.pruners import COSTS, make_pruner
from codesign.study.record import Training
from codesign.study.warm import cheapest_screen, family, nearest_start, roles, warm_axes

SUFFIX = ":trainings"


def ledger_name(study_name: str) -> str:
    return study_name + SUFFIX


class Ledger(ArtifactShelf):
    """The training ledger of one study in one storage (see the module's docstring)."""

    def __init__(self, storage, lock: Callable[[str], Any], study_name: str, direction: Any,
                 search: SearchSettings, artifacts: str, steps: int):
        """``storage``: an Optuna RDB storage with heartbeats (a stale claim is failed, not
        retried); ``lock(name)``: the workers' lock around "look up, then claim"
        (:func:`codesign.study.trial_slot_lock` of the storage's URL)."""
        import optuna

        self.search, self.lock = search, lock
        self.name = ledger_name(study_name)
        # checkpoints with or without a pruner: an interrupted training resumes from its last
        self.rungs = search.rungs(steps)
        self.refused: set[str] = set()               # artifacts found damaged: upload again
        self.storage = storage
        self.store = artifact_store(artifacts)       # first: a bad location creates nothing
        self.study = optuna.create_study(
            study_name=self.name, storage=self.storage, load_if_exists=True,
            direction=direction, sampler=optuna.samplers.RandomSampler(seed=0),
            pruner=make_pruner(search, self.rungs, steps))

    # -- reading the ledger ------------------------------------------------------------------
    def records(self) -> list:
        return [t for t in self.study.get_trials(deepcopy=False) if "setting" in t.user_attrs]

    def claims(self, setting: str) -> list:
        """The ledger trials of one setting."""
        return [t for t in self.records() if t.user_attrs["setting"] == setting]

    def reached(self, step: int, but: int) -> int:
        """How many other settings reported a checkpoint at ``step`` (the pruner's evidence)."""
        return sum(step in t.intermediate_values for t in self.records() if t.number != but)

    # -- claiming and training ---------------------------------------------------------------
    def train(self, setting: str, key_data: dict, job, costs: Optional[dict] = None,
              screen: bool = True) -> Training:
        """The setting's training: found in the ledger, waited for, or claimed and run by
        ``job(trial, training)`` (which trains, reports checkpoints through the
        trial and returns the final value, or prunes the trial:
        :func:`codesign.study.pruners.prune`). ``screen=False`` (a promotion): a screened
        training does not answer; the setting is trained in full."""
        from codesign.stale import fail_stale

        waited, t0 = False, time.perf_counter()
        while True:
            with self.lock(self.name) as lock:
                mine = self.claims(setting)
                complete = [t for t in mine if t.state.name == "COMPLETE"]
                done = [t for t in complete if not t.user_attrs.get("screened")] or (
                    complete if screen else [])
                if done:
                    found = self._training(done[0])
                    found.waited_s = round(time.perf_counter() - t0, 2) if waited else 0.0
                    return found
                if not any(t.state.name == "RUNNING" for t in mine):
                    return self._claim(setting, key_data, job, costs, lock, mine)
                fail_stale(self.study)      # a dead trainer's claim expires (or one never beat)
                if not any(t.state.name == "RUNNING" for t in self.claims(setting)):
                    continue
            waited = True
            time.sleep(self.search.claim_poll_s)

    def _claim(self, setting: str, key_data: dict, job, costs: Optional[dict], lock,
               mine: list) -> Training:
        """Create the setting's ledger trial (the claim; ``lock`` is released once it exists)
        and run ``job`` in it, from the furthest step an earlier claim reached."""
        # (a warm start or a screen trained its own adapter: no step of this setting's own)
        reached = max([int(t.user_attrs.get("to_step", 0)) for t in mine
                       if t.user_attrs.get("start") is None], default=0)
        holder: dict[str, Training] = {}

        def run(trial):
            record = Training(setting, setting, from_step=reached,
                              ledger_trial=trial.number, trained_here=True)
            holder["t"] = record
            trial.set_user_attr("setting", setting)
            trial.set_user_attr("family", family(key_data, self.search.warm_start_axes))
            trial.set_user_attr("screen_family", family(key_data))
            trial.set_user_attr("placement_family", family(key_data, placement=True))
            trial.set_user_attr("roles", roles(key_data))
            trial.set_user_attr("axes", warm_axes(key_data))
            trial.set_user_attr("from_step", reached)
            if costs is not None:
                trial.set_user_attr(COSTS, costs)
            lock.release()                 # the claim exists: others may look
            return job(trial, record)

        self.study.optimize(run, n_trials=1, catch=(), gc_after_trial=False)
        return holder["t"]

    def start_for(self, key_data: dict, screen: bool = True) -> tuple[Optional[dict], str]:
        """(the warm start of a new setting or None, what kind of training it is: "scratch",
        "warm", "screen" or "promote"). Only adapters trained in full (not screened) start
        others: the nearest of the setting's warm-start family (a warm start); else (a screen)
        of its noise screen family at the same placement; else (a placement screen) at a
        placement containing its layers. ``screen=False`` (a promotion): a warm start, else the
        screen's start trained for ``search.promote_steps`` when that is below 1, else
        from scratch."""
        if not self.search.warm_start:
            return None, "scratch"
        candidates = [self._candidate(t) for t in self.records()
                      if t.state.name == "COMPLETE" and not t.user_attrs.get("screened")]
        axes = warm_axes(key_data)
        start = nearest_start({"family": family(key_data, self.search.warm_start_axes),
                               "axes": axes}, candidates)
        if start is not None:
            return start, "warm"
        if not screen and self.search.promote_steps >= 1:
            return None, "scratch"
        mine, here, across = roles(key_data), family(key_data), family(key_data, placement=True)
        same_placement = [dict(c, family=c["screen_family"]) for c in candidates
                          if c["screen_family"]]
        containing = [dict(c, family=c["placement_family"]) for c in candidates
                      if c["placement_family"]] if self.search.placement_screens else []
        if self.search.screen_start == "loss" and self.search.screens:
            # one pool: the same placement (its family says so) and those containing it
            pool = [dict(c, roles=mine) for c in same_placement] + [
                dict(c, family=here) for c in containing
                if c["family"] == across and c["roles"] != mine]
            start = cheapest_screen({"family": here, "axes": axes, "roles": mine}, pool)
        else:
            start = nearest_start({"family": here, "axes": axes}, same_placement) \
                if self.search.screens else None
            if start is None and containing:
                start = nearest_start({"family": across, "axes": axes, "roles": mine},
                                      containing)
        if start is None:
            return None, "scratch"
        return start, "screen" if screen else "promote"

    @staticmethod
    def note(trial, record: Training) -> None:
        """What a claim's training did, in its ledger trial (read by :func:`training_steps` and
        by the next claim of the setting)."""
        for name in ("adapter_key", "start", "steps", "to_step", "computed", "screened",
                     "expected_loss"):
            trial.set_user_attr(name, getattr(record, name))
        trial.set_user_attr("from_step", record.from_step)

    @staticmethod
    def _candidate(t) -> dict:
        a = t.user_attrs
        return {"family": a["family"], "axes": a["axes"], "adapter_key": a["adapter_key"],
                "start": a.get("start"), "number": t.number,
                "screen_family": a.get("screen_family"),
                "placement_family": a.get("placement_family"), "roles": a.get("roles")}

    @staticmethod
    def _training(t) -> Training:
        a = t.user_attrs
        return Training(a["setting"], a["adapter_key"], start=a.get("start"),
                        screened=bool(a.get("screened")), expected_loss=a.get("expected_loss"),
                        steps=int(a.get("steps", 0)), ledger_trial=t.number,
                        from_step=0, to_step=0, proxy=t.value)


def training_steps(storage, study_name: str) -> dict[str, int]:
    """What a study spent on adapter training, from its ledger: steps advanced (summed over
    claims), steps computed (not loaded from a cache), trainings, pruned, warm-started (screens
    included), screened."""
    import optuna

    try:
        ledger = optuna.load_study(study_name=ledger_name(study_name), storage=storage)
    except KeyError:
        return {"steps": 0, "computed": 0, "trainings": 0, "pruned": 0, "warm": 0, "screened": 0}
    trials = [t for t in ledger.get_trials(deepcopy=False) if "setting" in t.user_attrs]
    return {
        "steps": sum(max(0, int(t.user_attrs.get("to_step", 0))
                         - int(t.user_attrs.get("from_step", 0))) for t in trials),
        "computed": sum(int(t.user_attrs.get("computed", 0)) for t in trials),
        "trainings": len({t.user_attrs["setting"] for t in trials}),
        "pruned": sum(t.state.name == "PRUNED" for t in trials),
        "warm": sum(t.user_attrs.get("start") is not None for t in trials
                    if t.state.name == "COMPLETE"),
        "screened": sum(bool(t.user_attrs.get("screened")) for t in trials
                        if t.state.name == "COMPLETE"),
    }
