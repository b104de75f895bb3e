"""``codesign latency``: latency, TCDM and energy of one layer or a whole network (hw_models)."""

from __future__ import annotations

from codesign.cli._common import (add_command, add_converter_bits, field_flag, field_range,
                                  parse_layer, print_json)

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
  codesign latency --model llama-3.1-8b --seq-len 2048 --generate 128 --json
        prefill of a 2048-token prompt, then 128 generated tokens: time per token, KV cache
  codesign latency --layer 512x128 --tile paper --integration-ns 512 --tokens 8
        the paper's tile: an MVM takes exactly the integration time
Models: mobilebert, bert-base, bert-large, minilm-l6, llama-3.1-8b, or a BERT-like / LLaMA-like
Hugging Face config.json. --json keys: aimc_ns (AIMC time of one chunk of T tokens), pmca_ns (PMCA
LoRA time of that chunk), ratio (= pmca_ns / aimc_ns), total_ns (seq-len tokens through the
pipeline), aimc_only_ns (without LoRA), overhead (= total_ns / aimc_only_ns), tcdm_bytes,
tcdm_fits, energy_pj; --model adds layers (a list of per-layer figures) and the size figures:
tiles, pmca_clusters, tcdm_total_bytes, area_mm2, area_by_component_mm2, chips, chip_area_mm2,
static_power_mw, static_energy_pj (leakage over total_ns, included in energy_pj) and
dynamic_energy_pj; --generate adds decode_ns_per_token, decode_aimc_only_ns_per_token,
kv_cache_bytes and more.
"""


def add_parser(sub) -> None:
    from hw_models import ENGINES, PLACEMENTS

    from codesign.config.study import DesignPoint
    from codesign.search_space import resolve_path, value_at

    defaults = DesignPoint()

    def default(name: str) -> str:
        value = value_at(defaults, resolve_path(name))
        return f"{value:g}" if isinstance(value, float) else str(value)

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
    p.add_argument("--rank", type=field_flag("--rank", "lora.rank"), default=None,
                   help=f"LoRA rank, {field_range('lora.rank')} (0 = no LoRA; default "
                        f"{default('rank')})")
    p.add_argument("--placement", default=None,
                   help="layers with an adapter (--model): " + ", ".join(PLACEMENTS)
                        + f", or comma-separated roles (default {default('placement')})")
    _add_hardware_flags(p, default)
    p.add_argument("--engine", choices=ENGINES, default="des",
                   help="des: SimPy discrete-event simulation (default); closed_form: formula")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _add_hardware_flags(p, default) -> None:
    """The flags that set one hardware or workload field each (``default(path)``: its default
    as the help text shows it)."""
    from hw_models.specs import ATTENTION_MAPPINGS

    def numeric(flag: str, path: str, what: str, **kw) -> None:
        p.add_argument(flag, type=field_flag(flag, path), default=None,
                       help=f"{what}, {field_range(path)} (default {default(path)})", **kw)

    numeric("--integration-ns", "hardware.aimc.integration_ns",
            "tile integration time per MVM, ns", metavar="T_INT")
    numeric("--tokens", "hardware.tokens", "parallel tokens per pipeline chunk", metavar="T")
    numeric("--seq-len", "workload.seq_len", "tokens per sequence")
    add_converter_bits(p, adc_default=default("adc_bits"), dac_default=default("dac_bits"))
    numeric("--tcdm-kib", "hardware.pmca.tcdm_kib", "PMCA TCDM size, KiB")
    numeric("--redmule-fma", "hardware.pmca.redmule_fma",
            "RedMule FMA blocks, a multiple of the RedMule height (0 = cores only)")
    numeric("--clock-ghz", "hardware.pmca.clock_ghz", "PMCA clock, GHz")
    p.add_argument("--tile", choices=("default", "paper", "hermes"), default=None,
                   help="tile preset, before the other flags: default (512x512, PWM DACs, SAR "
                        "ADCs, conversion after integration), paper (the AHWA-LoRA paper's "
                        "assumption: an MVM takes exactly the integration time), hermes (an IBM "
                        "HERMES core, 256x256, 133 ns)")
    p.add_argument("--attention", choices=ATTENTION_MAPPINGS, default=None,
                   help="clusters that run attention (--model): upstream = the PMCAs of the "
                        "block's layers before attention (default), block = all of the block's, "
                        "qkv = the Q/K/V layers', dedicated = dedicated clusters per block")
    p.add_argument("--generate", type=field_flag("--generate", "workload.generate"), default=None,
                   metavar="N",
                   help=f"decoders (--model), {field_range('workload.generate')}: also generate N "
                        "tokens after the --seq-len prompt; "
                        "adds decode_ns_per_token, decode_aimc_only_ns_per_token (no LoRA), "
                        "kv_cache_bytes, tokens_per_s, decode_overhead")


#: flags that set a design parameter, each named as its search-space alias (search_space.ALIASES)
_DESIGN_FLAGS = ("integration_ns", "adc_bits", "dac_bits", "tcdm_kib", "redmule_fma", "clock_ghz",
                 "tokens", "rank", "placement", "seq_len", "attention", "generate")
#: design fields whose flag is not named after the field
_RENAMED = {"network": "--model", "mapping": "--attention"}


def _flag(field: str) -> str | None:
    """The flag that sets a design field: 'aimc.adc_bits' -> '--adc-bits'."""
    leaf = field.rsplit(".", 1)[-1]
    if leaf in _RENAMED:
        return _RENAMED[leaf]
    return "--" + leaf.replace("_", "-") if leaf in _DESIGN_FLAGS + ("engine",) else None


def _design(args):
    """The design point of --config (or the defaults) with every given flag applied."""
    import dataclasses

    from codesign.config.study import DesignPoint
    from codesign.search_space import apply_params, placement_value, resolve_path

    if args.config is not None:
        from codesign.cli._design import load_design

        design = load_design(args.config)
    else:
        design = DesignPoint()
    if args.tile is not None:
        from hw_models import AimcTileSpec

        preset = AimcTileSpec() if args.tile == "default" else getattr(AimcTileSpec, args.tile)()
        design = dataclasses.replace(
            design, hardware=dataclasses.replace(design.hardware, aimc=preset))
    given = {name: getattr(args, name) for name in _DESIGN_FLAGS if getattr(args, name) is not None}
    if "placement" in given:
        given["placement"] = placement_value(given["placement"].strip(), sep=",")
    return apply_params(design, {resolve_path(name): v for name, v in given.items()})


def run(args) -> int:
    from hw_models import SpecError

    try:
        return _run(args)
    except SpecError as exc:  # name the flag, not only the field
        msg = str(exc)
        flag = _flag(msg.split(":", 1)[0])
        raise SpecError(f"{flag} ({msg})" if flag else msg) from None


def _run(args) -> int:
    import hw_models

    from codesign.errors import InputError

    if args.layer is None and args.model is None and args.config is None:
        raise InputError("one of --layer MxN, --model NAME or --config PICKED.yaml is required")
    design = _design(args)
    hw, lora, seq_len = design.hardware, design.lora, design.workload.seq_len
    if args.layer is not None:
        if args.generate:
            raise InputError("--generate: needs --model (a decoder such as llama-3.1-8b), "
                             "not --layer")
        if args.attention is not None:
            raise InputError("--attention: places a network's attention (--model); one layer "
                             "(--layer) has none")
        if args.placement is not None:
            raise InputError("--placement: chooses a network's layers (--model); --layer is one "
                             "layer, its adapter is set by --rank")
        m, n = args.layer
        report = hw_models.layer_closed_form(m, n, hw, lora.rank, seq_len=seq_len)
        if args.engine == "des":
            import dataclasses

            total = _layer_des_total(m, n, hw, lora.rank, seq_len)
            report = dataclasses.replace(report, total_ns=total,
                                         overhead=total / report.aimc_only_ns)
        if args.json:
            print_json(report.contract())
        else:
            _print_layer(report, hw)
        return 0
    network = hw_models.load_network(args.model or design.workload.network)
    decode = None
    if design.workload.generate:
        from hw_models.decode import decode_report

        decode = decode_report(network, hw, lora, seq_len, design.workload.generate)
    net_report = hw_models.evaluate_network(network, hw, lora, seq_len=seq_len, engine=args.engine)
    if args.json:
        print_json({**net_report.contract(), **net_report.size(),
                    **(decode.to_dict() if decode else {})})
    else:
        _print_network(net_report, hw)
        if decode:
            _print_decode(decode)
    return 0


def _print_decode(d) -> None:
    print(f"  generate {d.generate} tokens after a {d.prompt_len}-token prompt: "
          f"{d.decode_ns_per_token / 1e3:,.1f} us/token ({d.tokens_per_s:,.1f} tokens/s), "
          f"without LoRA {d.decode_aimc_only_ns_per_token / 1e3:,.1f} us/token (overhead "
          f"{d.decode_overhead:.3f}x); attention {d.attention_ns_per_token / 1e3:,.1f} us/token")
    where = "fits the L2 of its chips" if d.kv_cache_fits_l2 else \
        "OVERFLOWS the L2 of its chips: off-chip memory, not timed"
    print(f"  KV cache {d.kv_cache_bytes / 2**20:,.1f} MiB ({d.kv_cache_bytes_per_block / 2**20:,.2f}"
          f" MiB per block: {where}) | energy "
          f"{d.decode_energy_pj_per_token / 1e6:,.1f} uJ/token")


def _layer_des_total(m, n, hw, rank, seq_len) -> float:
    from hw_models import network_latency, plan_layer

    return network_latency(plan_layer(m, n, hw, rank, seq_len), "des")


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
    print(f"  {r.tiles:,} tiles + {r.pmca_clusters:,} PMCA clusters | area {r.area_mm2:,.1f} mm^2 | "
          f"{r.chips:,} chip{'s' if r.chips != 1 else ''} of {hw.chip.tiles_per_chip} tiles "
          f"({r.chip_area_mm2:,.1f} mm^2 each) | leakage {r.static_power_mw:,.1f} mW = "
          f"{r.static_energy_pj / 1e6:,.2f} uJ (in energy)")
    head = f"  {'layer':<38} {'role':<9} {'MxN':>11} {'x':>3} {'r':>3} {'aimc ns':>9} " \
           f"{'pmca ns':>9} {'ratio':>6} {'TCDM KiB':>9}"
    print(head)
    for L in r.layers:
        print(f"  {L.name[:38]:<38} {L.role:<9} {f'{L.m}x{L.n}':>11} {L.count:>3} {L.rank:>3} "
              f"{L.aimc_ns:>9,.0f} {L.pmca_ns:>9,.0f} {L.ratio:>6.2f} "
              f"{L.tcdm_bytes / 1024:>8,.1f}{'' if L.tcdm_fits else '!'}")
