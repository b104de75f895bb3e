"""The study YAML as typed dataclasses: what is fixed, what is searched, what is optimised.

A study file (studies/*.yaml) decodes strictly into :class:`StudyConfig`; every field documents its
meaning and unit. The design point that a trial evaluates is :class:`DesignPoint` (hardware + LoRA
+ accuracy settings + workload); the search space names fields of it by dotted path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Union

from hw_models import spec_field
from hw_models.specs import HardwareSpec, LoraSpec

from codesign.accuracy.settings import AccuracySettings, WorkloadSpec
from codesign.config.search import SearchSettings

SAMPLERS = ("nsga2", "tpe", "gp", "random", "grid")
#: the most trials one study may hold (a latency-only trial takes ~0.1 s: a day of one worker)
MAX_TRIALS = 1_000_000
#: the longest sequence a study may model (LLaMA-3.1's context is 131072; the event model's time
#: grows with seq_len / tokens chunks and attention with seq_len squared)
MAX_SEQ_LEN = 32768


@dataclass(frozen=True)
class Workload:
    """What runs on the accelerator."""

    network: str = spec_field(
        "minilm-l6", help="network whose linear-layer shapes set latency, energy and adapter size: "
                          "mobilebert, bert-base, bert-large, minilm-l6, llama-3.1-8b or a path to "
                          "a Hugging Face config.json")
    seq_len: int = spec_field(320, help="tokens per sequence (paper: max length 320); for a "
                                        "decoder with generate > 0, the prompt; at most 32768 "
                                        "(LLaMA-3.1-8B at 32768 tokens: ~6 s a trial with tokens "
                                        "8, ~46 s with tokens 1, on 2 CPU cores)",
                              unit="tokens", ge=1, le=MAX_SEQ_LEN)
    generate: int = spec_field(0, help="decoders: tokens generated one at a time after the "
                                       "seq_len-token prompt (0: prefill only); sets the "
                                       "decode_us_per_token metric", unit="tokens", ge=0,
                               le=MAX_SEQ_LEN)
    batch: int = spec_field(1, help="decoders: sequences decoding together on the "
                                    "weight-stationary hardware (each with its own KV cache, "
                                    "1/batch of a block's L2, the rest off chip); "
                                    "sets tokens_per_s and decode_uj_per_token at that batch "
                                    "(hw_models.throughput). Needs generate >= 1 when above 1",
                            unit="sequences", ge=1, le=4096)
    accuracy: WorkloadSpec = field(default_factory=WorkloadSpec,
                                   metadata={"help": "model and task the accuracy model trains on"})


@dataclass(frozen=True)
class DesignPoint:
    """Everything one trial evaluates: the fixed values, overridden by the trial's parameters."""

    hardware: HardwareSpec = field(default_factory=HardwareSpec, metadata={"help": "AIMC + PMCA"})
    lora: LoraSpec = field(default_factory=LoraSpec, metadata={"help": "the adapters"})
    accuracy: AccuracySettings = field(default_factory=AccuracySettings,
                                       metadata={"help": "noise, training and drift evaluation"})
    workload: Workload = field(default_factory=Workload, metadata={"help": "network and task"})


@dataclass(frozen=True)
class Objective:
    """One objective of the study."""

    name: str = spec_field(help="a metric name (see codesign.metrics.METRICS): accuracy, latency_us, "
                                "energy_uj, adapter_params, tcdm_kib, overhead, ...")
    direction: Optional[Literal["minimize", "maximize"]] = spec_field(
        None, help="minimize or maximize; default: the metric's natural direction")
    at: str = spec_field("1d", help="for accuracy: the drift horizon (0s, 1h, 1d, 1w, 1mo, 1y, 10y), "
                                    "'mean' over the evaluated drift times, or 'worst'")


@dataclass(frozen=True)
class StudyConfig:
    """A study file, decoded."""

    name: str = spec_field(help="study name: the results folder results/<name>/ and the storage key")
    search_space: Union[str, dict] = spec_field(
        help="a file under search_spaces/ (or a path), or an inline mapping axis -> {choices: [...]}"
             " / {low: L, high: H[, step: S, log: true]}")
    sampler: str = spec_field("nsga2", help="nsga2 (default for several objectives), tpe, gp, "
                                            "random or grid", choices=SAMPLERS)
    n_trials: int = spec_field(20, help="trials the study holds when a run ends: a run adds trials "
                                        "until then (--n-trials overrides)", unit="trials", ge=1,
                               le=MAX_TRIALS)
    seed: int = spec_field(0, help="sampler seed (numpy's range); a run uses seed + the trials the "
                                   "study already holds, plus its process id mod 10007 when it "
                                   "joins running workers (distinct streams), modulo 2**32; a grid "
                                   "uses the seed alone (the order of its points)",
                           ge=0, le=2**32 - 1)
    storage: Optional[str] = spec_field(
        None, help="Optuna storage URL; default sqlite:///<out>/<name>/study.db. "
                   "postgresql://user:pass@host/db makes many `codesign run` workers one study")
    population_size: int = spec_field(8, help="NSGA-II population size", ge=2, le=MAX_TRIALS)
    objectives: list[Objective] = spec_field(
        help="one or more objectives", default_factory=lambda: [Objective("latency_us")])
    constraints: list[str] = spec_field(
        help="rules every feasible trial meets: 'tcdm_fits', 'latency_us<=500', ...",
        default_factory=list)
    skip_accuracy_if_infeasible: bool = spec_field(
        True, help="skip accuracy training for trials that already break a latency/memory "
                   "constraint (accuracy is then reported as missing, the trial as infeasible)")
    workload: Workload = field(default_factory=Workload, metadata={"help": "network and task"})
    hardware: HardwareSpec = field(default_factory=HardwareSpec,
                                   metadata={"help": "fixed AIMC tile, PMCA and pipeline parameters"})
    lora: LoraSpec = field(default_factory=LoraSpec, metadata={"help": "fixed adapter parameters"})
    accuracy: AccuracySettings = field(default_factory=AccuracySettings,
                                       metadata={"help": "noise, training and drift evaluation"})
    search: SearchSettings = field(
        default_factory=SearchSettings,
        metadata={"help": "how adapter training is spent: pruner, warm starts, shared artifacts"})

    @property
    def design(self) -> DesignPoint:
        """The fixed design point that the search space varies."""
        return DesignPoint(self.hardware, self.lora, self.accuracy, self.workload)
