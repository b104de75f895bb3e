"""``codesign latency``: latency, TCDM and energy of one layer or a whole network (hw_models)."""

from __future__ import annotations

from codesign.cli._common import (add_command, nonneg_int, parse_layer, positive_float,
                                  positive_int, print_json)
from codesign.config.study import MAX_SEQ_LEN

EXAMPLES = """\
  codesign latency --layer 512x128 --rank 8 --integration-ns 512 --tokens 8
        one MobileBERT 512-in x 128-out layer, rank-8 LoRA: the paper's ~0.70 ratio, ~1.05x
  codesign latency --layer 512x128 --rank 8 --integration-ns 128 --tokens 32 --json
        the same layer as JSON (times in ns, memory in bytes, energy in pJ)
  codesign latency --layer 128x128 --rank 0 --tokens 8          # no adapter: the AIMC baseline
  codesign latency --model mobilebert --rank 8 --placement all --integration-ns 256 --tokens 8
        the whole network, per-layer table (placements: all, qkv, attention, attn_out, ffn, none,
        or roles joined by commas: query,value)
  codesign latency --model path/to/config.json --rank 16 --tokens 32 --seq-len 2048 --json
  codesign latency --model llama-3.1-8b --rank 16 --tokens 32 --seq-len 2048 --tcdm-kib 256
Models: mobilebert, bert-base, bert-large, minilm-l6, llama-3.1-8b, or a BERT-like / LLaMA-like
Hugging Face config.json. --json keys: aimc_ns (AIMC time of one chunk of T tokens), pmca_ns (PMCA
LoRA time of that chunk), ratio (= pmca_ns / aimc_ns), total_ns (seq-len tokens through the
pipeline), aimc_only_ns (without LoRA), overhead (= total_ns / aimc_only_ns), tcdm_bytes,
tcdm_fits, energy_pj; --model adds layers (a list of per-layer figures).
"""


def add_parser(sub) -> None:
    p = add_command(sub, "latency", help="latency/TCDM/energy of a layer or a network",
                    description="Model an AIMC tile + PMCA (Snitch/RedMule) pipeline running a "
                                "linear layer (--layer) or a whole transformer (--model) with "
                                "digital LoRA adapters: seq-len tokens in chunks of T tokens. "
                                "Defaults are the AHWA-LoRA paper's hardware.",
                    examples=EXAMPLES)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--layer", type=parse_layer, metavar="MxN",
                      help="one linear layer, M inputs x N outputs (e.g. 512x128)")
    what.add_argument("--model", metavar="NAME_OR_CONFIG",
                      help="a whole network: a shipped name or a config.json path")
    p.add_argument("--config", metavar="PICKED.yaml", default=None,
                   help="start from the design point of a picked.yaml (codesign pick) or a study "
                        "file: its network, hardware, LoRA and seq-len; other flags override")
    p.add_argument("--rank", type=nonneg_int("--rank"), default=None, help="LoRA rank (0 = no "
                   "LoRA; default 8)")
    p.add_argument("--placement", default=None,
                   help="layers with an adapter (--model): all, qkv, attention, attn_out, ffn, "
                        "none, or comma-separated roles (default all)")
    p.add_argument("--integration-ns", type=positive_float("--integration-ns"), default=None,
                   metavar="T_INT", help="tile integration time per MVM, ns (default 256)")
    p.add_argument("--tokens", type=positive_int("--tokens"), default=None, metavar="T",
                   help="parallel tokens per pipeline chunk (default 8)")
    p.add_argument("--seq-len", type=positive_int("--seq-len", MAX_SEQ_LEN), default=None,
                   help="tokens per sequence (default 320)")
    p.add_argument("--adc-bits", type=positive_int("--adc-bits"), default=None)
    p.add_argument("--dac-bits", type=positive_int("--dac-bits"), default=None)
    p.add_argument("--tcdm-kib", type=positive_int("--tcdm-kib"), default=None,
                   help="PMCA TCDM size, KiB (default 128)")
    p.add_argument("--redmule-fma", type=nonneg_int("--redmule-fma"), default=None,
                   help="RedMule FMA blocks, a multiple of 4 (0 = cores only; default 32)")
    p.add_argument("--clock-ghz", type=positive_float("--clock-ghz"), default=None,
                   help="PMCA clock, GHz (default 1.0)")
    p.add_argument("--engine", choices=("des", "closed_form"), default="des",
                   help="des: SimPy discrete-event simulation (default); closed_form: formula")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


_FLAG = {"integration_ns": "--integration-ns", "adc_bits": "--adc-bits", "dac_bits": "--dac-bits",
         "tcdm_kib": "--tcdm-kib", "redmule_fma": "--redmule-fma", "clock_ghz": "--clock-ghz",
         "tokens": "--tokens", "rank": "--rank", "placement": "--placement",
         "seq_len": "--seq-len", "engine": "--engine", "network": "--model"}


def _hardware(args, base=None):
    """The hardware of --config (or the defaults) with every given flag applied."""
    import dataclasses

    from hw_models import HardwareSpec

    base = base or HardwareSpec()
    aimc = {k: v for k, v in (("integration_ns", args.integration_ns),
                              ("adc_bits", args.adc_bits), ("dac_bits", args.dac_bits))
            if v is not None}
    pmca = {k: v for k, v in (("tcdm_kib", args.tcdm_kib), ("redmule_fma", args.redmule_fma),
                              ("clock_ghz", args.clock_ghz)) if v is not None}
    hw = {"tokens": args.tokens} if args.tokens is not None else {}
    return dataclasses.replace(base, aimc=dataclasses.replace(base.aimc, **aimc),
                               pmca=dataclasses.replace(base.pmca, **pmca), **hw)


def _placement(text: str):
    text = text.strip()
    return tuple(p.strip() for p in text.split(",")) if "," in text else text


def run(args) -> int:
    from hw_models import SpecError

    try:
        return _run(args)
    except SpecError as exc:  # name the flag, not only the field
        msg = str(exc)
        path = msg.split(":", 1)[0].rsplit(".", 1)[-1]
        flag = _FLAG.get(path)
        raise SpecError(f"{flag} ({msg})" if flag else msg) from None


def _run(args) -> int:
    import hw_models
    from hw_models import LoraSpec

    from codesign.errors import InputError

    design = None
    if args.config is not None:
        from codesign.cli._design import load_design

        design = load_design(args.config)
        if args.layer is None and args.model is None:
            args.model = design.workload.network
        if args.seq_len is None:
            args.seq_len = design.workload.seq_len
        if args.rank is None:
            args.rank = design.lora.rank
        if args.placement is None:
            placement = design.lora.placement
            args.placement = placement if isinstance(placement, str) else ",".join(placement)
    if args.layer is None and args.model is None:
        raise InputError("one of --layer MxN, --model NAME or --config PICKED.yaml is required")
    args.rank = 8 if args.rank is None else args.rank
    args.placement = "all" if args.placement is None else args.placement
    args.seq_len = 320 if args.seq_len is None else args.seq_len
    hw = _hardware(args, design.hardware if design is not None else None)
    if args.layer is not None:
        m, n = args.layer
        report = hw_models.layer_closed_form(m, n, hw, args.rank, seq_len=args.seq_len)
        if args.engine == "des":
            import dataclasses

            total = _layer_des_total(m, n, hw, args.rank, args.seq_len)
            report = dataclasses.replace(report, total_ns=total,
                                         overhead=total / report.aimc_only_ns)
        if args.json:
            print_json(report.contract())
        else:
            _print_layer(report, hw)
        return 0
    lora = LoraSpec(rank=args.rank, placement=_placement(args.placement))
    network = hw_models.load_network(args.model)
    report = hw_models.evaluate_network(network, hw, lora, seq_len=args.seq_len,
                                        engine=args.engine)
    if args.json:
        print_json(report.contract())
    else:
        _print_network(report, hw)
    return 0


def _layer_des_total(m, n, hw, rank, seq_len) -> float:
    from hw_models import LinearLayer, network_latency
    from hw_models.plan import Plan, linear_plan
    from hw_models.stages import chunk_sizes

    sizes = chunk_sizes(seq_len, hw.tokens)
    lp = linear_plan(LinearLayer(f"{m}x{n}", "other", m, n), hw, rank, sizes)
    return network_latency(Plan(tuple(sizes), (lp,), (), 0), "des")


def _hw_line(hw) -> str:
    a, p = hw.aimc, hw.pmca
    return (f"tile {a.rows}x{a.cols} @ {a.integration_ns:g} ns, ADC/DAC {a.adc_bits}/{a.dac_bits} "
            f"bit; PMCA {p.clock_ghz:g} GHz, RedMule {p.redmule_fma} FMA, TCDM {p.tcdm_kib} KiB; "
            f"t = {hw.tokens} tokens/chunk")


def _print_layer(r, hw) -> None:
    print(f"layer {r.m}x{r.n} ({r.tiles} tile{'s' if r.tiles > 1 else ''}), LoRA rank {r.rank}, "
          f"{r.seq_len} tokens")
    print(_hw_line(hw))
    rows = [("AIMC time / chunk", f"{r.aimc_ns:,.1f} ns"),
            ("PMCA LoRA time / chunk", f"{r.pmca_ns:,.1f} ns"),
            ("ratio PMCA/AIMC", f"{r.ratio:.3f}"),
            ("readout / chunk", f"{r.readout_ns:,.1f} ns"),
            ("total (pipelined)", f"{r.total_ns / 1e3:,.3f} us"),
            ("AIMC only", f"{r.aimc_only_ns / 1e3:,.3f} us"),
            ("overhead", f"{r.overhead:.3f}x"),
            ("TCDM working set", f"{r.tcdm_bytes / 1024:,.1f} KiB "
                                 f"({'fits' if r.tcdm_fits else 'overflows: L2 streaming'})"),
            ("energy", f"{r.energy_pj / 1e6:,.3f} uJ")]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


def _print_network(r, hw) -> None:
    print(f"{r.network}: LoRA rank {r.rank} on {r.placement}, {r.seq_len} tokens, "
          f"engine {r.engine}")
    print(_hw_line(hw))
    print(f"  total {r.total_ns / 1e3:,.1f} us | without LoRA {r.aimc_only_ns / 1e3:,.1f} us | "
          f"overhead {r.overhead:.3f}x | ratio {r.ratio:.3f} (max {r.max_ratio:.3f})")
    print(f"  peak TCDM {r.tcdm_bytes / 1024:,.1f} KiB ({'fits' if r.tcdm_fits else 'overflows'})"
          f" | energy {r.energy_pj / 1e6:,.2f} uJ | adapter {r.adapter_params:,} params | "
          f"attention {r.attention_ns / 1e3:,.1f} us PMCA time")
    head = f"  {'layer':<38} {'role':<9} {'MxN':>11} {'x':>3} {'r':>3} {'aimc ns':>9} " \
           f"{'pmca ns':>9} {'ratio':>6} {'TCDM KiB':>9}"
    print(head)
    for L in r.layers:
        print(f"  {L.name[:38]:<38} {L.role:<9} {f'{L.m}x{L.n}':>11} {L.count:>3} {L.rank:>3} "
              f"{L.aimc_ns:>9,.0f} {L.pmca_ns:>9,.0f} {L.ratio:>6.2f} "
              f"{L.tcdm_bytes / 1024:>8,.1f}{'' if L.tcdm_fits else '!'}")
