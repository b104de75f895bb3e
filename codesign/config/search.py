"""How a study spends adapter training: pruning, warm starts and sharing across workers.

Every distinct accuracy setting (everything that changes its adapters: rank, placement, ADC/DAC
bits, the integration time it trains at, noise and training settings) is one *training* in the
study's training ledger (:mod:`codesign.study.ledger`), an Optuna study of its own beside the main one in
the same storage. The ledger is where a worker claims a training, where the pruner sees
intermediate accuracy, and where trained adapters are found by workers on other machines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from hw_models import spec_field

PRUNERS = ("none", "median", "successive_halving", "hyperband", "dominated")
#: the knobs a warm start may change (codesign.study.warm.WARM_AXES)
WARM_START_AXES = ("rank", "adc_bits", "dac_bits", "train_integration_ns")
#: ...and those it changes by default: the rank alone (measured: docs/guide/many_machines.md)
DEFAULT_WARM_START_AXES = ("rank",)
#: a URL scheme (``gs://``, ``file:``, ``https://``): only s3:// names a store; anything else is a
#: folder path
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//|$)")


def artifacts_problem(where: str) -> str:
    """Why ``where`` is no artifact store (``''`` when it is one): an s3://BUCKET or a folder
    path; an empty value, another URL scheme or a bucket with a path are refused, so that no
    such text quietly becomes a folder in the working directory."""
    if not where.strip():
        return "empty; give a folder path or s3://BUCKET"
    if where.startswith("s3://"):
        bucket = where[len("s3://"):].strip("/")
        if not bucket or "/" in bucket:
            return f"expected s3://BUCKET (a bucket name only), got {where!r}"
        return ""
    match = _SCHEME.match(where)
    if match and len(match.group(0).split(":")[0]) > 1:   # C:\ is a Windows drive, not a scheme
        return (f"unsupported scheme {where.split(':')[0]!r} in {where[:60]!r}; use a folder path "
                f"or s3://BUCKET")
    if "\x00" in where:
        return "a path with a NUL byte"
    return ""


@dataclass(frozen=True)
class SearchSettings:
    """Multi-fidelity search over adapter trainings (the ``search:`` section of a study file)."""

    pruner: str = spec_field(
        "none", help="stop hopeless accuracy settings early: the adapters' accuracy at each "
                     "checkpoint (one noise draw at the objective's drift horizon) goes to this "
                     "Optuna pruner, which compares it with the other settings at the same step: "
                     "'median' (MedianPruner), 'successive_halving' (asynchronous SH, reduction "
                     "factor 'reduction_factor'), 'hyperband' (Optuna's, single-objective: they "
                     "rank settings by accuracy alone), 'dominated' (multi-objective: stop a "
                     "setting only when another one at the same checkpoint has higher accuracy "
                     "and is no worse in any other objective), or 'none'. A pruned setting's "
                     "trial is recorded as PRUNED (trials.csv state, the figures' grey dots) and "
                     "its partial adapter is kept: if the search comes back to it, training "
                     "resumes from there when the pruner lets it go on", choices=PRUNERS)
    checkpoints: tuple[float, ...] = spec_field(
        default_factory=lambda: (0.25, 0.5),
        help="fractions of accuracy.training.steps at which intermediate accuracy is measured "
             "and the pruner asked (each costs one evaluation of the proxy: one draw, one drift "
             "time); the end of training is not a checkpoint")
    reduction_factor: int = spec_field(
        2, help="successive halving / Hyperband: keep the best 1/reduction_factor of the settings "
                "at each checkpoint", ge=2, le=16)
    min_settings: int = spec_field(
        4, help="a setting is pruned at a checkpoint only when at least this many other "
                "settings have reached that checkpoint (the pruner's evidence); a very large "
                "value walks and keeps the checkpoints without ever pruning",
        unit="settings", ge=0)
    warm_start: bool = spec_field(
        False, help="start a new setting's adapters from the nearest adapter the study has "
                    "already trained that differs only in the knobs warm_start_axes names "
                    "(by default the rank: the same placement, workload, noise and training "
                    "settings; a different rank starts from the trained update itself, its "
                    "best rank-r approximation by SVD when the rank shrinks) and train only "
                    "warm_start_steps of the budget. The start is part of the adapter's cache "
                    "key and of the trial's record")
    warm_start_steps: float = spec_field(
        0.0625, help="with warm_start: the fraction of accuracy.training.steps a warm-started "
                     "setting trains, as the tail of a full training: its learning rate starts "
                     "at this fraction of training.lr and decays linearly to 0 (measured with "
                     "benchmarks/search_efficiency.py --joint: a rank change from an adapter "
                     "trained from scratch ends 0.13 accuracy points below a full training with "
                     "1/16 of the steps, 0.0 with 1/4; a change of converter bits or integration "
                     "time 0.5-0.9 below with 1/4; docs/guide/many_machines.md)",
        unit="fraction", gt=0, le=1)
    warm_start_axes: tuple[str, ...] = spec_field(
        default_factory=lambda: DEFAULT_WARM_START_AXES,
        help="with warm_start: the knobs a warm start may change between the setting it starts "
             "from and the new one (any of rank, adc_bits, dac_bits, train_integration_ns); "
             "settings that differ in any other knob never warm-start each other. The default, "
             "['rank']: one training from scratch per noise (converter bits, integration time) "
             "and placement, its other ranks warm-started from it. Measured on "
             "benchmarks/search_efficiency.py --joint: a rank change from an adapter trained "
             "from scratch ends 0.0-0.13 accuracy points below a full training (median), a "
             "change of converter bits or integration time 0.5-0.9; all four knobs train fewer "
             "settings from scratch for that loss (docs/guide/many_machines.md)")
    screen_steps: float = spec_field(
        0.0625, help="with warm_start: screen new noises. A setting whose warm-start family holds "
                  "no adapter trained in full (a noise, i.e. converter bits and integration "
                  "time, the study has not trained at this placement) is warm-started across "
                  "every warm knob from the nearest adapter trained in full at the same "
                  "placement, for this fraction of accuracy.training.steps (a screen); when a "
                  "screened trial reaches the study's Pareto front, its setting is trained "
                  "further (promote_steps) and its points measured again (promotions: trials "
                  "of their own, user attribute promotes, not counted towards n_trials; the "
                  "screened trials they measure again leave the front). 0: no screens, a new "
                  "noise is trained from scratch. Measured on benchmarks/search_efficiency.py "
                  "--joint (5 seeds, with the defaults of promote_share, promote_optimism, "
                  "optimism_by, promote_steps and screen_placements): every seed at >= 97.7 % "
                  "of the grid's hypervolume for 16-22 % of its training, against 26-29 % "
                  "without screens; over 20 seeds 2 below 95 % at 58 trials (93.2 % at worst), "
                  "1 at 86 (docs/guide/many_machines.md). "
                  "codesign.study.promotion",
        unit="fraction",
        ge=0, lt=1)
    promote_share: float = spec_field(
        0.002, help="with screen_steps: a screened trial on the front is promoted only when it "
                  "holds at least this share of the front's hypervolume alone (what the front "
                  "would lose without it, each objective scaled over the front, reference point "
                  "1.1); 0: every screened trial on the front. Screened points the front barely "
                  "needs then cost no training", unit="fraction", ge=0, lt=1)
    promote_optimism: bool = spec_field(
        True, help="with screen_steps: judge a screened trial at its objectives improved by the "
                    "screen loss the study has measured on its own promotions (median of full "
                    "minus screened, 0 before the first), so that a noise whose screen lost more "
                    "than usual can still reach the front and be promoted; more promotions, "
                    "more training (measured on benchmarks/search_efficiency.py --joint, 10 "
                    "seeds: the worst seed's hypervolume 96.2 % instead of 92.6 %, for 1 point "
                    "more training at the median). codesign.study.promotion.screen_loss")
    optimism_by: str = spec_field(
        "change", help="with promote_optimism: what a screened trial is judged to have lost. "
                       "'change': the loss expected of what its screen changed (accuracy "
                       "points by codesign.study.warm.SCREEN_LOSS: two ADC bits cost more than "
                       "an octave of integration time) scaled by the study's promotions (median "
                       "of measured / expected loss; 'study' until a promotion measured one). "
                       "'study': the study's median screen loss, the same for every screen. "
                       "Measured on benchmarks/search_efficiency.py --joint over 20 seeds: "
                       "'change' leaves 2 seeds below 95 % of the grid's hypervolume at 58 "
                       "trials and 1 at 86, 'study' 3 at both, for 0.7 points more training "
                       "(docs/guide/many_machines.md). codesign.study.promotion.screen_losses",
        choices=("study", "change"))
    promote_steps: float = spec_field(
        0.75, help="with screen_steps: how a promotion trains its setting (when no adapter of "
                   "its warm-start family is trained: else it is an ordinary warm start). "
                   "Below 1: from the screen's start (the nearest adapter trained in full or "
                   "promoted, across noises or placements) for this fraction of "
                   "accuracy.training.steps, its learning rate as the tail of a full schedule; "
                   "1: from scratch, in full. Measured on benchmarks/search_efficiency.py "
                   "--joint: 3/4 of the steps from a trained neighbour ends level with a full "
                   "training (median +0.01 accuracy points from an adapter trained from scratch, "
                   "10 seeds), 1/2 0.19 below and its rank warm starts 0.36 below (a seed at "
                   "94 % of the grid's hypervolume); docs/guide/many_machines.md",
        unit="fraction", gt=0, le=1)
    screen_start: str = spec_field(
        "distance", help="with screen_steps: which trained adapter a screen starts from. "
                     "'distance': the nearest by the warm starts' distance at the same "
                     "placement, then (screen_placements) a containing placement. 'loss': the "
                     "one whose differences cost a screen least on benchmarks/search_efficiency.py "
                     "--joint (accuracy points: 0.75 per converter bit, 0.2 per octave of "
                     "integration time, 0.05 per octave of rank, 0.9 for another placement; "
                     "codesign.study.warm.SCREEN_LOSS), the same placement and (with "
                     "screen_placements) those containing it in one pool (measured over 10 "
                     "seeds: the worst seed 93.9 % of the grid's hypervolume instead of 93.1 %, "
                     "the median 1 point lower; not the default)", choices=("distance", "loss"))
    screen_placements: bool = spec_field(
        True, help="with screen_steps: screen new placements too. A setting whose placement the "
                    "study has not trained in full is warm-started, for screen_steps of the "
                    "steps, from the nearest adapter trained in full at a placement that "
                    "contains its layers (e.g. 'all' for 'qkv' or 'ffn': the adapter's shared "
                    "layers are kept, the others dropped), instead of trained from scratch; "
                    "promoted like any screen. A placement no trained one contains is still "
                    "trained from scratch. codesign.study.warm.covers")
    siblings: int = spec_field(
        4, help="after each trial, measure up to this many points that differ from it only in "
                "axes that change neither its adapters nor its accuracy measurement (tokens, "
                "TCDM size, clock...): each costs the hardware model alone and is a trial of "
                "its own (user attribute sibling_of) that does not count towards n_trials. Only "
                "in studies that measure accuracy, not with sampler: grid (it visits every "
                "point anyway). codesign.study.siblings", unit="points", ge=0)
    artifacts: Optional[str] = spec_field(
        None, help="where trained adapters, checkpoints and results are shared between workers "
                   "(Optuna's artifact store): a folder every worker can read and write (e.g. "
                   "an NFS path) or s3://BUCKET (Optuna's Boto3ArtifactStore, needs boto3; an "
                   "S3-compatible endpoint from AWS_ENDPOINT_URL). Default: "
                   "<out>/<name>/artifacts, beside the study (enough for workers on one "
                   "machine; workers on several machines need a shared folder or S3)")
    claim_poll_s: float = spec_field(
        2.0, help="a worker that needs a setting another worker is training checks the ledger "
                  "this often until it is trained (a dead trainer's claim expires with its "
                  "heartbeat and the setting is trained again)", unit="s", gt=0, le=600)

    def __post_init__(self) -> None:
        from hw_models import SpecError

        values = list(self.checkpoints)
        for i, f in enumerate(values):
            if not isinstance(f, (int, float)) or isinstance(f, bool) or not 0 < f < 1:
                raise SpecError(f"search.checkpoints[{i}]: must be a fraction between 0 and 1 "
                                f"(exclusive), got {f!r}")
        if values != sorted(set(values)):
            raise SpecError(f"search.checkpoints: must be increasing without repeats, got {values}")
        axes = self.warm_start_axes
        if isinstance(axes, str) or not axes or \
                any(a not in WARM_START_AXES for a in axes) or len(set(axes)) != len(axes):
            raise SpecError(f"search.warm_start_axes: a list of distinct names from "
                            f"{list(WARM_START_AXES)}, got {axes!r}")
        object.__setattr__(self, "warm_start_axes", tuple(axes))
        if self.artifacts is not None:
            problem = artifacts_problem(self.artifacts)
            if problem:
                raise SpecError(f"search.artifacts: {problem}")

    @property
    def prunes(self) -> bool:
        return self.pruner != "none"

    def rungs(self, steps: int) -> tuple[int, ...]:
        """The checkpoint steps of a training of ``steps`` steps (each >= 1 and < steps)."""
        return tuple(sorted({s for f in self.checkpoints
                             if 0 < (s := max(1, int(round(f * steps)))) < steps}))

    def warm_steps(self, steps: int) -> int:
        return max(1, int(round(self.warm_start_steps * steps)))

    @property
    def screens(self) -> bool:
        """Whether new noises are screened (``screen_steps``; warm starts that leave a noise
        knob fixed: with all four knobs every new setting is an ordinary warm start)."""
        return bool(self.warm_start and self.screen_steps
                    and set(self.warm_start_axes) != set(WARM_START_AXES))

    @property
    def placement_screens(self) -> bool:
        """Whether new placements are screened from a placement containing theirs."""
        return bool(self.warm_start and self.screen_steps and self.screen_placements)

    def promote_steps_of(self, steps: int) -> int:
        return max(1, int(round(self.promote_steps * steps)))

    def screen_steps_of(self, steps: int) -> int:
        return max(1, int(round(self.screen_steps * steps)))
