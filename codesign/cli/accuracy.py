"""``codesign accuracy``: digital vs analog-before vs AHWA-LoRA-after metric at each drift time."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from codesign.cli._common import (add_command, add_converter_bits, field_flag, field_range,
                                  print_json, require)
from codesign.errors import InputError

EXAMPLES = """\
  # the offline default: all-MiniLM-L6-v2 on Python-documentation sentences, rank 8 on all layers
  codesign accuracy --rank 8 --placement all --adc-bits 8
  # a quick look: 40 training steps, two drift times, two noise draws, as JSON
  codesign accuracy --rank 4 --placement qkv --adc-bits 6 --steps 40 --drift-times 0s 1d --draws 2 --json
  # the paper's Gaussian training noise instead of the PCM model in the loop
  codesign accuracy --rank 8 --placement ffn --adc-bits 8 --train-noise gaussian
  # any other setting: the meta-weights programmed without clipping, 150 training steps
  codesign accuracy --rank 8 --set noise.clip_sigma=0 --steps 150 --drift-times 1d 1y
  # dynamic adaptation: retrain the 8-bit adapter for 6-bit converters
  codesign accuracy --rank 8 --adc-bits 6 --adapt-from-bits 8
  codesign accuracy --rank 8 --integration-ns 128 --drift-times 1d 1y
  # full AHWA training (all weights, no adapters): the baseline for memory and accuracy
  codesign accuracy --rank 8 --adc-bits 8 --mode full_ahwa --steps 40
  # re-run the design point `codesign pick` chose (its study's adapter cache answers it)
  codesign accuracy --config results/quickstart/picked.yaml --draws 3 --drift-times 0s 1d 1y
  # the retrieval workload: MRR@10 of held-out documentation sentences finding their passage,
  # with Recall@1 and nDCG@10 beside it (the measures table; under "measures" in the JSON)
  codesign accuracy --workload minilm-retrieval --rank 8 --drift-times 0s 1d 1y 10y
  # a GLUE task from the hub (needs network) or local files in the HF GLUE column format
  codesign accuracy --workload glue.yaml --rank 8 --placement all --adc-bits 8
      glue.yaml:  name: my-sst2
                  model: /models/bert-base-sst2      # a local directory or hub name
                  task: sst2                         # or ./sst2/ with train.jsonl + validation.jsonl
                  max_seq_len: 128

JSON keys: digital, analog_before, analog_after (drift time -> {mean, std}), trainable_params,
total_params, metric, plus cache_hit, status, reason, measures (a task's measures beside its
metric, e.g. retrieval's recall@1, mrr@10, ndcg@10: name -> {digital, analog_before,
analog_after}; absent for the default workload) and timing extras. Trained adapters and
results are cached under --cache-dir; a repeated request is answered from the cache.
"""

#: built-in workload names for --workload
#: (minilm-retrieval: the inverse-cloze task of codesign.accuracy.workloads.retrieval; passages of
#: three sentences are ~70 tokens, so 128 tokens keep nine in ten whole; 64 held-out passages make
#: the corpus: docs/guide/retrieval.md)
PRESETS: dict[str, dict] = {"minilm-fidelity": {},
                            "minilm-retrieval": {"task": "retrieval", "max_seq_len": 128,
                                                 "n_train": 256, "n_eval": 64}}
INTEGRATION = "hardware.aimc.integration_ns"
ADC = "hardware.aimc.adc_bits"
#: numeric flags that set one accuracy setting each: (flag, field of the design point, help); each
#: takes exactly the values of its field in a study file (its type and bounds)
FIELD_FLAGS = (
    ("--steps", "accuracy.training.steps", "training steps (default 60)"),
    ("--draws", "accuracy.evaluation.n_draws", "noise draws per drift time (default 3)"),
    ("--lr", "accuracy.training.lr", "learning rate (default 1e-3)"),
    ("--batch-size", "accuracy.training.batch_size", "examples per mini-batch (default 16)"),
    ("--seed", "accuracy.training.seed", "training seed (default 0)"),
)
#: accuracy-settings flags and the settings field each one sets (a --set on the same field is
#: refused: one of the two would be ignored)
SETTING_FLAGS = {"steps": "training.steps", "draws": "evaluation.n_draws",
                 "train_noise": "noise.train_noise_model", "loss": "training.loss",
                 "lr": "training.lr", "batch_size": "training.batch_size", "seed": "training.seed",
                 "mode": "training.mode", "device": "device", "drift_times": "evaluation.drift_times"}


def add_parser(sub) -> None:
    from hw_models.specs import PLACEMENTS, AimcTileSpec

    p = add_command(sub, "accuracy", help="AHWA-LoRA accuracy before/after adapter training, "
                                          "under drift",
                    description="Train digital LoRA adapters on a transformer whose pretrained "
                                "weights sit on simulated PCM tiles (aihwkit), and report the "
                                "task metric of the digital model, the analog model before "
                                "training and after, at each drift time (mean and std over "
                                "noise draws).",
                    examples=EXAMPLES)
    p.add_argument("--workload", metavar="NAME_OR_YAML", default=None,
                   help="a built-in workload (" + ", ".join(PRESETS) + "; the default) or a YAML "
                        "file of workload fields: name, model, task, task_format, glue_task, "
                        "max_seq_len, n_train, n_eval, eval_batch_size")
    p.add_argument("--config", metavar="PICKED.yaml", default=None,
                   help="start from a design point: a picked.yaml of `codesign pick` (or a study "
                        "file's fixed values); the flags below override its fields. Its study's "
                        "adapter cache (results/.cache/accuracy beside it) is used when present")
    p.add_argument("--rank", type=field_flag("--rank", "lora.rank", ge=1), default=None,
                   help=f"LoRA rank r, {field_range('lora.rank', ge=1)}; required without --config")
    p.add_argument("--placement", default=None,
                   help="layers with an adapter: " + ", ".join(k for k in PLACEMENTS if k != "none")
                        + ", or roles separated by commas (query,key,value,attn_out,ffn_in,ffn_out,"
                          "other); default all")
    add_converter_bits(p, adc_default=str(AimcTileSpec().adc_bits), dac_default="= --adc-bits")
    p.add_argument("--integration-ns", type=field_flag("--integration-ns", INTEGRATION),
                   default=None, metavar="T_INT",
                   help=f"tile integration time per MVM, ns, {field_range(INTEGRATION)} (default "
                        "256): sets the tiles' output "
                        "and read noise (noise.integration_coupling; off with --set "
                        "noise.integration_coupling=false)")
    _add_setting_flags(p)
    p.add_argument("--adapt-from-bits", type=field_flag("--adapt-from-bits", ADC), default=None,
                   metavar="B", help="dynamic adaptation: start from the adapter trained for ADC = "
                                     "DAC = B bits (trained first if not cached) and retrain it "
                                     f"for --adc-bits / --dac-bits; {field_range(ADC)}")
    p.add_argument("--digital-layers", metavar="NAMES", default=None,
                   help="linear layers left digital (not converted): none, all, qkv, attention, "
                        "attn_out, ffn, roles, layer names, NAME@BLOCK or top-K, joined by '+' "
                        "(e.g. ffn_out@5+query); default: none, or --config's hardware.digital")
    p.add_argument("--digital-ranking", metavar="RANKING.json", default=None,
                   help="the ranking file top-K reads (written by `codesign sensitivity`)")
    p.add_argument("--set", metavar="KEY.PATH=VALUE", action="append", default=[],
                   help="override an accuracy setting the flags do not cover, e.g. --set "
                        "noise.clip_sigma=0 or --set noise.out_noise=0.02 (repeatable; fields of "
                        "noise, training and evaluation and analog_layers, as in a study file's "
                        "accuracy: section; see the docs); a field that a flag given too sets "
                        "is refused")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                   help="torch device (default auto: CUDA when available)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="adapter/result cache (default $CODESIGN_CACHE or ~/.cache/codesign/accuracy)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write cached results")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _add_setting_flags(p) -> None:
    """The flags that set one accuracy setting each (training, noise draws, drift times)."""
    for flag, path, what in FIELD_FLAGS:
        p.add_argument(flag, type=field_flag(flag, path), default=None,
                       help=f"{what}, {field_range(path)}")
    p.add_argument("--drift-times", nargs="+", default=None, metavar="T",
                   help="drift times, e.g. 0s 1h 1d 1w 1mo 1y 10y (the default)")
    p.add_argument("--train-noise", choices=("pcm", "gaussian"), default=None,
                   help="training noise model (default pcm: PCM model in the loop)")
    p.add_argument("--mode", choices=("lora", "full_ahwa"), default=None,
                   help="lora (AHWA-LoRA, the default) or full_ahwa (all weights train: the "
                        "baseline)")
    p.add_argument("--loss", choices=("plain", "halora"), default=None,
                   help="plain, or halora (clean + noisy loss aligned)")


def load_workload(text: str | None):
    """A built-in name or a YAML file -> WorkloadSpec (InputError naming the field on bad input)."""
    from codesign.accuracy.settings import WorkloadSpec

    if text is None:
        return WorkloadSpec()
    if text in PRESETS:
        return WorkloadSpec(name=text, **PRESETS[text])
    path = Path(text)
    if not path.is_file():
        raise InputError(f"--workload: {text!r} is neither a built-in workload "
                         f"({', '.join(PRESETS)}) nor a YAML file")
    from codesign.safe_yaml import read_yaml_file

    data = read_yaml_file(path, "--workload") or {}
    if isinstance(data, dict) and isinstance(data.get("workload"), dict):
        data = data["workload"]
    require(isinstance(data, dict), f"--workload: {text}: expected a mapping of workload fields")
    from codesign.decode import decode

    # as strictly as a study file's workload.accuracy: types (no true for a size, no number for a
    # path), bounds and choices, each named by its field
    return decode(WorkloadSpec, {"name": path.stem, **data}, "workload")


def parse_placement(text: str):
    from hw_models.specs import LoraSpec

    from codesign.search_space import placement_value

    placement = placement_value(text, sep=",")
    if placement == "none":
        raise InputError("--placement: 'none' has no adapters; use --mode full_ahwa for the "
                         "no-adapter baseline")
    try:
        LoraSpec(rank=1, placement=placement)
    except ValueError as exc:
        raise InputError(f"--{exc}") from None
    return placement


def _base(args):
    """(workload, aimc, lora, settings) to start from: --config's design point, or the defaults."""
    from hw_models.specs import AimcTileSpec, LoraSpec

    from codesign.accuracy.settings import AccuracySettings, WorkloadSpec

    if args.config is None:
        if args.rank is None:
            raise InputError("--rank: required (a positive integer), unless --config gives it")
        return WorkloadSpec(), AimcTileSpec(), LoraSpec(rank=args.rank), AccuracySettings()
    from codesign.cli._design import load_design

    design = load_design(args.config)
    settings = dataclasses.replace(design.accuracy, digital=design.hardware.digital)
    return design.workload.accuracy, design.hardware.aimc, design.lora, settings


def build_request(args):
    workload, aimc, lora, settings = _base(args)
    if args.workload is not None or args.config is None:
        workload = load_workload(args.workload)
    if args.adc_bits is not None or args.dac_bits is not None:
        adc = args.adc_bits or aimc.adc_bits
        aimc = dataclasses.replace(aimc, adc_bits=adc,
                                   dac_bits=args.dac_bits or (adc if args.config is None
                                                              else aimc.dac_bits))
    if args.integration_ns is not None:
        aimc = dataclasses.replace(aimc, integration_ns=args.integration_ns)
    if args.rank is not None:
        lora = dataclasses.replace(lora, rank=args.rank)
    if args.placement is not None or args.config is None:
        lora = dataclasses.replace(lora, placement=parse_placement(args.placement or "all"))
    from codesign.config.overrides import override

    settings = apply_sets(settings, args.set)
    settings = with_digital_flags(settings, args)
    changes = setting_flags(args)
    if args.adapt_from_bits and (changes.get("training.mode") or settings.training.mode) != "lora":
        raise InputError("--adapt-from-bits: dynamic adaptation retrains adapters; training.mode "
                         "full_ahwa has none (use --mode lora)")
    try:
        settings = override(settings, changes)
    except InputError as exc:
        raise InputError(str(exc).replace("evaluation.drift_times", "--drift-times")) from None
    return workload, aimc, lora, settings


def setting_flags(args) -> dict:
    """{settings field: value} of the accuracy-settings flags given; InputError when a --set
    names a field a given flag sets too (one of the two would be ignored)."""
    from codesign.config.overrides import override_items

    set_keys = {".".join(keys) for keys, _ in override_items(args.set)}
    changes = {}
    for flag, path in SETTING_FLAGS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        if path in set_keys:
            raise InputError(f"--set {path}: also given by --{flag.replace('_', '-')}; give one "
                             f"of the two")
        changes[path] = value
    if args.drift_times:
        changes["evaluation.drift_times"] = [x for t in args.drift_times
                                             for x in t.replace(",", " ").split()]
    return changes


def with_digital_flags(settings, args):
    """Settings with --digital-layers / --digital-ranking applied (InputError naming the
    flag on a value that is no list of layer names)."""
    if args.digital_layers is None and args.digital_ranking is None:
        return settings
    from hw_models import SpecError

    from codesign.search_space import placement_value

    spec = settings.digital
    try:
        spec = dataclasses.replace(
            spec, layers=(spec.layers if args.digital_layers is None
                          else placement_value(args.digital_layers)),
            ranking=args.digital_ranking or spec.ranking)
    except SpecError as exc:
        raise InputError(f"--digital-layers: {str(exc).partition(': ')[2]}") from None
    return dataclasses.replace(settings, digital=spec)


def apply_sets(settings, sets: list[str]):
    """AccuracySettings with ``--set KEY.PATH=VALUE`` overrides, decoded as strictly as a study
    file's ``accuracy:`` section (InputError naming the field)."""
    from codesign.config.overrides import override

    try:
        return override(settings, sets)
    except InputError as exc:
        text = str(exc)
        raise InputError(text if text.startswith("--set") else f"--set {text}") from None


def default_cache_dir() -> Path:
    env = os.environ.get("CODESIGN_CACHE")
    if env:
        return Path(env).expanduser() / "accuracy"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "codesign" / "accuracy"


def format_table(d: dict) -> str:
    labels = list(d["analog_after"] or d["analog_before"] or d["digital"])

    def cell(series, label):
        v = (series or {}).get(label)
        return "-" if not v else f"{v['mean']:.4f} ± {v['std']:.4f}"

    rows = [("drift", "digital", "analog before", "analog after")]
    rows += [(label, cell(d["digital"], label), cell(d["analog_before"], label),
              cell(d["analog_after"], label)) for label in labels]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"metric: {d['metric']}   status: {d['status']}"
             + (f" ({d['reason']})" if d.get("reason") else "")
             + ("   (adapters from cache)" if d.get("cache_hit") else "")]
    for k, r in enumerate(rows):
        lines.append("  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    share = d["trainable_params"] / d["total_params"] if d["total_params"] else 0
    lines.append(f"trainable parameters: {d['trainable_params']:,} of {d['total_params']:,} "
                 f"({100 * share:.2f} %)")
    if d.get("measures"):
        from codesign.accuracy.measures import format_measures

        lines += ["", "measures (mean ± std over draws):", format_measures(d["measures"], labels)]
    return "\n".join(lines)


def study_cache_dir(config: str | None) -> Path | None:
    """The adapter cache of the study a picked.yaml (results/<study>/picked.yaml) came from."""
    if config is None:
        return None
    folder = Path(config).resolve().parent.parent / ".cache" / "accuracy"
    return folder if folder.is_dir() else None


def check_cache_dir(path: Path, flag: str) -> Path:
    """The cache folder, made now if missing: a file, an unwritable or uncreatable place is one
    line naming ``flag`` before any training (which would otherwise fail at its end)."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag}: {path} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{flag}: cannot create {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"{flag}: {path} is not writable")
    return path


def run(args: argparse.Namespace) -> int:
    workload, aimc, lora, settings = build_request(args)
    from codesign.accuracy.engine import evaluate

    if args.cache_dir is not None:
        cache_dir = check_cache_dir(args.cache_dir, "--cache-dir")
    else:
        cache_dir = study_cache_dir(args.config) or check_cache_dir(
            default_cache_dir(), "CODESIGN_CACHE" if os.environ.get("CODESIGN_CACHE")
            else "the default cache folder (set CODESIGN_CACHE or --cache-dir)")
    if args.adapt_from_bits:
        from codesign.accuracy.engine import adapt

        old = dataclasses.replace(aimc, adc_bits=args.adapt_from_bits,
                                  dac_bits=args.adapt_from_bits)
        result = adapt(workload, old, aimc, lora, settings, cache_dir, progress=not args.quiet)
    else:
        result = evaluate(workload, aimc, lora, settings, cache_dir, progress=not args.quiet,
                          use_result_cache=not args.no_cache)
    d = result.to_dict()
    if args.json:
        print_json(d)
    else:
        print(format_table(d))
    return 0 if result.ok else 1
