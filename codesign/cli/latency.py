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
  codesign latency --model llama-3.1-8b --seq-len 2048 --generate 128 --batch 16 --link board
        16 sequences decoding together, chips joined by board links: tokens/s of all of them
  codesign latency --model llama-3.1-8b --seq-len 8192 --generate 128 --offchip hbm3 --json
        an 8k context: the KV cache beyond the chips' L2 in an HBM3 stack (--l2-banks,
        --attention-splits: the L2's shared bandwidth and split-K in decode)
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
kv_cache_bytes, decode_kv_read_bytes_per_token (K/V read per generated token),
kv_cache_offchip_bytes (one sequence's KV cache beyond its L2 share, in --offchip memory; at
--batch B each sequence has 1/B of the L2),
decode_interchip_ns_per_token, decode_energy_pj_per_token with
decode_static_energy_pj_per_token (leakage), lm_head_tiles, decode_chips, saturation_batch and
more; --batch B gives tokens_per_s, time and energy per token at B. --model adds
prefill_interchip_bytes, prefill_interchip_ns (the busiest chip link's busy time over the prompt)
and the throughput mode: sequences_per_s, energy_pj_per_sequence_at_throughput.
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
    numeric("--l2-banks", "hardware.chip.l2_banks",
            "banks of each chip's L2, 8 B/cycle each, shared by its clusters in decode "
            "attention (not in prefill)", metavar="BANKS")
    numeric("--attention-splits", "hardware.attention.splits",
            "decode: clusters a K/V head's keys are split over (split-K; 0 = the idle "
            "clusters, 1 = no split)", metavar="S")
    from hw_models.offchip import PRESETS

    p.add_argument("--offchip", choices=tuple(PRESETS), default=None,
                   help="off-chip memory for the KV cache beyond the L2 (decode): lpddr5 (one "
                        "LPDDR5-6400 x64 pack, 51.2 GB/s, the default) or hbm3 (one HBM3 stack, "
                        "819.2 GB/s)")
    _add_system_flags(p)
    p.add_argument("--digital-layers", metavar="NAMES", default=None,
                   help="linear layers without a tile, run as RedMulE GEMMs with their weights "
                        "from TCDM / L2 / off-chip memory (docs: Which layers stay digital): "
                        "none, all, qkv, attention, attn_out, ffn, roles, layer names, "
                        "NAME@BLOCK or top-K, joined by '+'")
    p.add_argument("--digital-ranking", metavar="RANKING.json", default=None,
                   help="the ranking file top-K reads (written by `codesign sensitivity`)")


def _add_system_flags(p) -> None:
    """--batch (batched decode) and --link (the chip links' preset)."""
    from hw_models.system_specs import LINK_PRESETS

    p.add_argument("--batch", type=field_flag("--batch", "workload.batch"), default=None,
                   metavar="B", help=f"decoders (with --generate), "
                                     f"{field_range('workload.batch')}: sequences decoding "
                                     f"together, their KV caches sharing the L2 (the rest off chip); "
                                     f"tokens_per_s is for all of them (default 1)")
    p.add_argument("--link", choices=LINK_PRESETS, default=None,
                   help="chip-to-chip link (--model): ucie = a 2.5D chiplet link, 256 GB/s, "
                        "2 ns, 0.3 pJ/bit (default); board = chips on a board, 16 GB/s, 100 ns, "
                        "5 pJ/bit")


#: flags that set a design parameter, each named as its search-space alias (search_space.ALIASES)
_DESIGN_FLAGS = ("integration_ns", "adc_bits", "dac_bits", "tcdm_kib", "redmule_fma", "clock_ghz",
                 "tokens", "rank", "placement", "seq_len", "attention", "generate", "batch",
                 "digital_layers")
#: the memory flags (issue 22): flag name -> design field
_MEMORY_FLAGS = {"l2_banks": "hardware.chip.l2_banks",
                 "attention_splits": "hardware.attention.splits",
                 "digital_ranking": "hardware.digital.ranking"}
#: design fields whose flag is not named after the field
_RENAMED = {"network": "--model", "mapping": "--attention", "l2_banks": "--l2-banks",
            "splits": "--attention-splits", "layers": "--digital-layers",
            "ranking": "--digital-ranking"}


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
    if args.link is not None:
        from hw_models.system_specs import link_preset

        design = dataclasses.replace(
            design, hardware=dataclasses.replace(design.hardware, link=link_preset(args.link)))
    if getattr(args, "offchip", None) is not None:
        from hw_models import offchip

        design = dataclasses.replace(design, hardware=dataclasses.replace(
            design.hardware, offchip=offchip.preset(args.offchip)))
    given = {name: getattr(args, name) for name in _DESIGN_FLAGS if getattr(args, name) is not None}
    if "placement" in given:
        given["placement"] = placement_value(given["placement"].strip(), sep=",")
    given.update({path: getattr(args, name) for name, path in _MEMORY_FLAGS.items()
                  if getattr(args, name, None) is not None})
    params = {resolve_path(name): v for name, v in given.items()}
    ranking = params.pop("hardware.digital.ranking", None)    # before the top-K that reads it
    return apply_params(design, {**({"hardware.digital.ranking": ranking} if ranking else {}),
                                 **params})


def run(args) -> int:
    from hw_models import SpecError

    try:
        return _run(args)
    except SpecError as exc:  # name the flag, not only the field
        msg = str(exc)
        flag = _flag(msg.split(":", 1)[0])
        raise SpecError(f"{flag} ({msg})" if flag else msg) from None


#: flags that only mean something for a whole network (--model): the one-line refusal with --layer
_NETWORK_ONLY = {
    "generate": "--generate: needs --model (a decoder such as llama-3.1-8b), not --layer",
    "attention": "--attention: places a network's attention (--model); one layer (--layer) has "
                 "none",
    "batch": "--batch: batched decode needs --model (a decoder) and --generate N, not --layer",
    "link": "--link: joins a network's chips (--model); one layer (--layer) crosses none",
    "digital_layers": "--digital-layers: chooses a network's layers (--model); --layer is one "
                      "analog layer",
    "placement": "--placement: chooses a network's layers (--model); --layer is one layer, its "
                 "adapter is set by --rank",
}


def _refuse_network_flags(args) -> None:
    """InputError for the first network-only flag given with --layer."""
    from codesign.errors import InputError

    for flag, message in _NETWORK_ONLY.items():
        value = getattr(args, flag, None)
        if value is not None and (flag != "generate" or value):
            raise InputError(message)


def _run(args) -> int:
    import hw_models

    from codesign.errors import InputError

    if args.layer is None and args.model is None and args.config is None:
        raise InputError("one of --layer MxN, --model NAME or --config PICKED.yaml is required")
    design = _design(args)
    hw, lora, seq_len = design.hardware, design.lora, design.workload.seq_len
    if args.layer is not None:
        _refuse_network_flags(args)
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
    if design.workload.batch > 1 and not design.workload.generate:
        raise InputError("--batch: batched decode needs --generate N (a decoder); an encoder's "
                         "throughput is sequences_per_s in --json")
    if design.workload.generate:
        from hw_models.decode import decode_report

        decode = decode_report(network, hw, lora, seq_len, design.workload.generate,
                               design.workload.batch)
    net_report = hw_models.evaluate_network(network, hw, lora, seq_len=seq_len, engine=args.engine)
    if args.json:
        digital = {k: net_report.to_dict()[k] for k in ("digital_layers", "digital_weight_bytes")}
        print_json({**net_report.contract(), **net_report.size(),
                    **_system(network, hw, net_report),
                    **(digital if hw.digital.active else {}),
                    **(decode.to_dict() if decode else {})})
    else:
        _print_network(net_report, hw)
        if decode:
            _print_decode(decode)
    return 0


#: keys --model adds for the prefill's chip links and the throughput mode (:func:`_system`)
SYSTEM_KEYS = ("prefill_interchip_bytes", "prefill_interchip_ns", "sequences_per_s",
               "energy_pj_per_sequence_at_throughput", "throughput_bottleneck")


def _system(network, hw, report) -> dict:
    """The prefill's chip links and the throughput mode (many sequences in flight)."""
    from hw_models.chips import prefill_links
    from hw_models.throughput import encoder_throughput

    nbytes, port_ns = prefill_links(network, hw, report.seq_len)
    tp = encoder_throughput(report, network, hw)
    return {"prefill_interchip_bytes": nbytes, "prefill_interchip_ns": port_ns,
            "sequences_per_s": tp.sequences_per_s,
            "energy_pj_per_sequence_at_throughput": tp.energy_pj_per_sequence,
            "throughput_bottleneck": tp.bottleneck}


def _print_decode(d) -> None:
    print(f"  generate {d.generate} tokens after a {d.prompt_len}-token prompt: "
          f"{d.decode_ns_per_token / 1e3:,.1f} us/token ({d.tokens_per_s:,.1f} tokens/s), "
          f"without LoRA {d.decode_aimc_only_ns_per_token / 1e3:,.1f} us/token (overhead "
          f"{d.decode_overhead:.3f}x); attention {d.attention_ns_per_token / 1e3:,.1f} us/token")
    share = "" if d.batch == 1 else f" (1/{d.batch} of it per sequence)"
    where = f"fits the L2 of its chips{share}" if d.kv_cache_fits_l2 else \
        (f"beyond the L2 of its chips{share}: {d.kv_cache_offchip_bytes / 2**20:,.1f} MiB off "
         f"chip per sequence"
         + ("" if d.kv_cache_fits_offchip else ", the batch's MORE than the off-chip capacity"))
    print(f"  KV cache {d.kv_cache_bytes / 2**20:,.1f} MiB ({d.kv_cache_bytes_per_block / 2**20:,.2f}"
          f" MiB per block: {where}) | energy "
          f"{d.decode_energy_pj_per_token / 1e6:,.1f} uJ/token "
          f"({d.decode_static_energy_pj_per_token / d.decode_energy_pj_per_token:.0%} leakage)")
    print(f"  chip links {d.decode_interchip_ns_per_token / 1e3:,.1f} us/token "
          f"({d.decode_interchip_bytes_per_token / 2**20:,.1f} MiB) | LM head + embedding "
          f"{d.lm_head_ns_per_token / 1e3:,.2f} us/token on {d.lm_head_tiles:,} tiles | "
          f"{d.decode_chips:,} chips")
    print(f"  batch {d.batch}: {d.tokens_per_s:,.1f} tokens/s in all; tokens/s stops growing "
          f"at batch {d.saturation_batch} ({d.saturation_resource} saturates)"
          + ("" if d.batch_kv_fits_l2 else f"; the {d.batch} KV caches overflow the L2 "
             f"and spill off chip"))
    print(f"  K/V read {d.decode_kv_read_bytes_per_token / 2**20:,.1f} MiB/token (each K/V head "
          f"once), split over {d.decode_attention_splits} cluster(s) per K/V head")


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
