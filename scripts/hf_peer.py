#!/usr/bin/env python3
"""Times Hugging Face transformers on a checkpoint directory: the peer spark-llm's GPU engine is compared with.

Runs on a GPU host with torch and transformers; the weights may be random (CheckpointWriter), since
timing does not depend on their values. Two modes, both bf16 on cuda, greedy, EOS never stopping:

  eager:     model.generate() with its default (dynamic) cache.
  compiled:  the gpt-fast method. generate() with a static cache under torch.compile(mode="reduce-overhead")
             fails ("accessing tensor output of CUDAGraphs that has been overwritten"), so this drives the
             model itself: a StaticCache, an eager prefill per batch, and one decode step (forward with
             cache_position, argmax of the last logits) compiled with CUDA graphs, in a loop of our own.

For each mode: batch-1 decode latency (a random prompt, then timed single-token steps after warm-up) and
offline throughput (random prompts of equal length in fixed-size batches; output tokens / wall time,
prefill included, compilation excluded and reported separately). Writes one JSON (--out) and a table.
"""
import argparse
import gc
import inspect
import json
import pathlib
import statistics
import sys
import time
import traceback

START = time.monotonic()
LATENCY_WARMUP_STEPS = 16
# Calls before the compiled step replays a graph: one to compile (and run), one to record the graph.
COMPILE_CALLS = 3


def log(message):
    print(f"[hf_peer {time.monotonic() - START:7.1f}s] {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="Hugging Face checkpoint directory")
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--modes", default="eager,compiled", help="comma-separated subset of eager,compiled")
    p.add_argument("--prompts", type=int, default=2048, help="offline prompts (compiled mode)")
    p.add_argument("--prompts-eager", type=int, default=256,
                   help="offline prompts in eager mode (it is ~40 ms a step, so it gets fewer)")
    p.add_argument("--input-len", type=int, default=256)
    p.add_argument("--output-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--latency-input-len", type=int, default=256, help="prompt length of the batch-1 test")
    p.add_argument("--latency-steps", type=int, default=128, help="timed decode steps of the batch-1 test")
    p.add_argument("--seed", type=int, default=1234, help="seed of the random prompt ids")
    args = p.parse_args()
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in args.modes if m not in ("eager", "compiled")]
    if unknown or not args.modes:
        p.error(f"--modes takes eager and/or compiled, got {args.modes}")
    for name in ("prompts", "prompts_eager", "input_len", "output_len", "batch", "latency_input_len",
                 "latency_steps"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.output_len < 2:
        p.error("--output-len must be at least 2 (a prefill token and one decode step)")
    return args


def whole_batches(prompts, batch, what):
    """Prompts rounded down to whole batches (a partial last batch would be a new shape to compile)."""
    batch = min(batch, prompts)
    used = prompts // batch * batch
    if used != prompts:
        log(f"{what}: using {used} prompts, a whole number of batches of {batch} (asked for {prompts})")
    return used, batch


def load_model(torch, transformers, path):
    log(f"loading {path} in bf16")
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16)
    except TypeError:
        # transformers before 4.56 named the argument torch_dtype.
        model = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.bfloat16)
    model = model.to("cuda").eval().requires_grad_(False)
    # The checkpoint's generation_config samples (temperature 0.6, top_p 0.9): replace it with plain greedy,
    # so generate() neither samples nor warns about sampling settings it ignores.
    eos = model.config.eos_token_id
    first_eos = eos[0] if isinstance(eos, (list, tuple)) else eos
    model.generation_config = transformers.GenerationConfig(
        do_sample=False, num_beams=1, eos_token_id=eos, pad_token_id=first_eos,
        bos_token_id=model.config.bos_token_id, disable_compile=True)
    return model


def random_ids(torch, vocab, rows, length, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (rows, length), generator=generator, dtype=torch.long)


def synced_seconds(torch, fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    result = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t0, result


def free_memory(torch):
    gc.collect()
    torch.cuda.empty_cache()


# ---------------------------------------------------------------------------------------------- eager


def eager_generate(torch, model, ids, new_tokens):
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                         min_new_tokens=new_tokens, do_sample=False)
    if out.shape[1] != ids.shape[1] + new_tokens:
        raise RuntimeError(f"generate returned {out.shape[1] - ids.shape[1]} new tokens, expected {new_tokens}")
    return out


def run_eager(torch, model, args, vocab):
    result = {"method": "model.generate(), dynamic cache, greedy, min_new_tokens = max_new_tokens"}
    prompt = random_ids(torch, vocab, 1, args.latency_input_len, args.seed + 1).cuda()
    steps = args.latency_steps
    log(f"eager batch 1: warm-up, then prefill-only and prefill + {steps} steps")
    eager_generate(torch, model, prompt, 8)
    prefill = statistics.median(
        synced_seconds(torch, lambda: eager_generate(torch, model, prompt, 1))[0] for _ in range(3))
    full, out = synced_seconds(torch, lambda: eager_generate(torch, model, prompt, steps + 1))
    per_token = (full - prefill) / steps
    result["batch1_us_per_token"] = per_token * 1e6
    result["batch1_prefill_ms"] = prefill * 1e3
    result["batch1_input_len"] = args.latency_input_len
    result["batch1_steps"] = steps
    result["batch1_tokens_head"] = out[0, prompt.shape[1]:prompt.shape[1] + 16].tolist()
    log(f"eager batch 1: {per_token * 1e6:.0f} us/token (prefill {prefill * 1e3:.1f} ms)")

    prompts, batch = whole_batches(min(args.prompts_eager, args.prompts), args.batch, "eager offline")
    ids = random_ids(torch, vocab, prompts, args.input_len, args.seed)
    batches = prompts // batch
    log(f"eager offline: {prompts} prompts in {batches} batches of {batch}; "
        f"ETA ~{batches * args.output_len * per_token * 1.3:.0f}s")
    eager_generate(torch, model, ids[:batch].cuda(), 2)  # allocator and kernel warm-up at the batch shape
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for b in range(batches):
        eager_generate(torch, model, ids[b * batch:(b + 1) * batch].cuda(), args.output_len)
        torch.cuda.synchronize()
        log(f"eager offline: batch {b + 1}/{batches} done, "
            f"ETA {(time.perf_counter() - t0) / (b + 1) * (batches - b - 1):.0f}s")
    wall = time.perf_counter() - t0
    result.update(offline_result(prompts, batch, args, wall))
    result["compile_seconds"] = 0.0
    return result


def offline_result(prompts, batch, args, wall):
    return {
        "offline_tokens_per_s": prompts * args.output_len / wall,
        "offline_wall_s": wall,
        "offline_prompts": prompts,
        "batch": batch,
        "input_len": args.input_len,
        "output_len": args.output_len,
    }


# ------------------------------------------------------------------------------------------- compiled


def new_static_cache(torch, transformers, model, batch, max_len):
    """A StaticCache of batch x max_len, allocated now (outside compilation) whatever the constructor's version."""
    cls = transformers.StaticCache
    params = inspect.signature(cls.__init__).parameters
    offered = {"config": model.config, "max_batch_size": batch, "batch_size": batch, "max_cache_len": max_len,
               "device": "cuda", "dtype": torch.bfloat16}
    kwargs = {k: v for k, v in offered.items() if k in params}
    if "max_batch_size" in kwargs:
        kwargs.pop("batch_size", None)  # the deprecated alias of max_batch_size in 4.4x
    if "config" not in kwargs or "max_cache_len" not in kwargs:
        raise RuntimeError(f"unrecognised StaticCache constructor {inspect.signature(cls.__init__)}; "
                           "expected keywords config and max_cache_len")
    log(f"StaticCache({', '.join(sorted(kwargs))}) for batch {batch}, length {max_len}")
    cache = cls(**kwargs)
    # transformers >= 4.56 sizes the layers on their first update; size them now so the tensors exist (and
    # are marked static) before the decode step is compiled.
    if hasattr(cache, "early_initialization") and "max_batch_size" not in kwargs and "batch_size" not in kwargs:
        cfg = model.config
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        try:
            cache.early_initialization(batch_size=batch, num_heads=cfg.num_key_value_heads, head_dim=head_dim,
                                       dtype=torch.bfloat16, device=torch.device("cuda"))
        except TypeError as e:
            # The eager prefill, which always runs before the compiled step, initialises the layers as well.
            log(f"StaticCache.early_initialization failed ({e}); the prefill will size the cache")
    return cache


class CompiledDecoder:
    """Eager prefill into a static cache, then greedy decode steps through one CUDA-graph-compiled function.

    transformers 5.x caches track their own length (a static-address tensor the decode step advances in
    place), so the model takes no position; older versions need cache_position on every call.
    """

    def __init__(self, torch, model):
        self.torch = torch
        self.model = model
        takes_cache_position = "cache_position" in inspect.signature(model.forward).parameters
        self.takes_cache_position = takes_cache_position
        log("decode step passes cache_position (transformers < 5)" if takes_cache_position
            else "decode step lets the StaticCache track positions (transformers 5.x)")

        def decode_step(token, position, cache):
            extra = {"cache_position": position} if takes_cache_position else {}
            logits = model(input_ids=token, past_key_values=cache, use_cache=True, **extra).logits
            return torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)

        self.step = torch.compile(decode_step, mode="reduce-overhead", fullgraph=True)

    def prefill(self, ids, cache):
        """Empties the cache, runs the prompt through it eagerly, and returns the first greedy token [B, 1]."""
        torch = self.torch
        cache.reset()  # zeroes the keys and values and, in 5.x, the cache's own length
        extra = {"cache_position": torch.arange(ids.shape[1], device=ids.device)} if self.takes_cache_position else {}
        out = self.model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1, **extra)
        return torch.argmax(out.logits[:, -1, :], dim=-1, keepdim=True)

    def decode(self, token, start, steps, cache, events=None):
        """Greedy tokens [B, steps] after `token` (at position `start`); events[i] is recorded before step i."""
        torch = self.torch
        tokens = torch.empty((token.shape[0], steps), dtype=torch.long, device=token.device)
        position = torch.tensor([start], dtype=torch.long, device=token.device)
        for i in range(steps):
            if events is not None:
                events[i].record()
            torch.compiler.cudagraph_mark_step_begin()
            # The graph's output buffer is overwritten by the next replay: clone what crosses steps.
            token = self.step(token, position, cache).clone()
            tokens[:, i] = token[:, 0]
            position += 1
        if events is not None:
            events[steps].record()
        return tokens

    def generate(self, ids, new_tokens, cache):
        first = self.prefill(ids, cache)
        rest = self.decode(first, ids.shape[1], new_tokens - 1, cache)
        return self.torch.cat([first, rest], dim=1)


def configure_dynamo(torch):
    config = torch._dynamo.config
    # Each batch size gets its own static graph instead of a second, dynamic-shape compilation.
    if hasattr(config, "automatic_dynamic_shapes"):
        config.automatic_dynamic_shapes = False
    else:
        log("torch._dynamo.config has no automatic_dynamic_shapes: the second batch size may compile dynamic")
    # Two shapes and two cache objects recompile a few times; torch 2.6 renamed the limit.
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(config, name):
            setattr(config, name, max(getattr(config, name), 16))


def run_compiled(torch, transformers, model, args, vocab):
    result = {"method": "gpt-fast: StaticCache, eager prefill, decode step under "
                        "torch.compile(mode='reduce-overhead', fullgraph=True) in an own loop"}
    configure_dynamo(torch)
    decoder = CompiledDecoder(torch, model)

    steps = args.latency_steps
    length = args.latency_input_len
    cache = new_static_cache(torch, transformers, model, 1, max(args.input_len + args.output_len,
                                                                 length + COMPILE_CALLS + LATENCY_WARMUP_STEPS
                                                                 + steps + 1))
    prompt = random_ids(torch, vocab, 1, length, args.seed + 1).cuda()
    log("compiled batch 1: compiling the decode step (a minute or two)")
    token = decoder.prefill(prompt, cache)
    compile_b1, _ = synced_seconds(torch, lambda: decoder.decode(token, length, COMPILE_CALLS, cache))
    log(f"compiled batch 1: compiled in {compile_b1:.1f}s; warm-up and {steps} timed steps")
    # Restart from the prompt so the timed steps are the same tokens eager mode produced.
    token = decoder.prefill(prompt, cache)
    decoder.decode(token, length, LATENCY_WARMUP_STEPS, cache)
    token = decoder.prefill(prompt, cache)
    events = [torch.cuda.Event(enable_timing=True) for _ in range(steps + 1)]
    wall, tokens = synced_seconds(torch, lambda: decoder.decode(token, length, steps, cache, events))
    per_step_ms = [events[i].elapsed_time(events[i + 1]) for i in range(steps)]
    result["batch1_us_per_token"] = statistics.median(per_step_ms) * 1e3
    result["batch1_us_per_token_mean_wall"] = wall / steps * 1e6
    result["batch1_us_per_token_min"] = min(per_step_ms) * 1e3
    result["batch1_input_len"] = length
    result["batch1_steps"] = steps
    result["batch1_tokens_head"] = [int(token[0, 0])] + tokens[0, :15].tolist()
    log(f"compiled batch 1: median {result['batch1_us_per_token']:.0f} us/token, "
        f"mean {result['batch1_us_per_token_mean_wall']:.0f}")
    cache = events = None  # the batch-1 cache is no longer needed
    free_memory(torch)

    prompts, batch = whole_batches(args.prompts, args.batch, "compiled offline")
    ids = random_ids(torch, vocab, prompts, args.input_len, args.seed)
    batches = prompts // batch
    cache = new_static_cache(torch, transformers, model, batch, args.input_len + args.output_len)
    log(f"compiled offline: compiling the decode step for batch {batch}")
    first = ids[:batch].cuda()
    compile_batch, _ = synced_seconds(torch, lambda: decoder.decode(decoder.prefill(first, cache), args.input_len,
                                                                    COMPILE_CALLS, cache))
    log(f"compiled offline: compiled in {compile_batch:.1f}s; {prompts} prompts in {batches} batches of {batch}")
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for b in range(batches):
        out = decoder.generate(ids[b * batch:(b + 1) * batch].cuda(), args.output_len, cache)
        torch.cuda.synchronize()
        log(f"compiled offline: batch {b + 1}/{batches} done, "
            f"ETA {(time.perf_counter() - t0) / (b + 1) * (batches - b - 1):.0f}s")
    wall = time.perf_counter() - t0
    if out.shape != (batch, args.output_len):
        raise RuntimeError(f"compiled generate returned shape {tuple(out.shape)}")
    result.update(offline_result(prompts, batch, args, wall))
    result["compile_seconds"] = compile_b1 + compile_batch
    result["compile_seconds_batch1"] = compile_b1
    result["compile_seconds_offline_batch"] = compile_batch
    cache = out = None
    torch._dynamo.reset()
    free_memory(torch)
    return result


# ----------------------------------------------------------------------------------------------- main


def eta_seconds(mode, args):
    if mode == "eager":
        prompts = min(args.prompts_eager, args.prompts)
        batches = max(1, prompts // min(args.batch, prompts))
        return 0.04 * (8 + 3 + 2 * args.latency_steps) + 0.05 * batches * args.output_len
    return 120 + args.prompts * args.output_len / 20000


def write(path, report):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")


def table(report, modes):
    rows = [("mode", "batch-1 us/token", "offline tok/s", "prompts", "batch", "compile s")]
    for mode in modes:
        r = report.get(mode, {})
        if "error" in r:
            rows.append((mode, "error: " + r["error"][:60], "", "", "", ""))
            continue
        rows.append((mode, f"{r.get('batch1_us_per_token', float('nan')):.0f}",
                     f"{r.get('offline_tokens_per_s', float('nan')):.0f}", str(r.get("offline_prompts", "")),
                     str(r.get("batch", "")), f"{r.get('compile_seconds', 0.0):.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)


def main():
    args = parse_args()
    out = pathlib.Path(args.out)
    try:
        import torch
        import transformers
    except ImportError as e:
        sys.exit(f"hf_peer needs torch and transformers: {e}")
    if not torch.cuda.is_available():
        sys.exit("hf_peer needs a CUDA device (torch.cuda.is_available() is False)")
    if not (pathlib.Path(args.model) / "config.json").is_file():
        sys.exit(f"{args.model} has no config.json: not a Hugging Face checkpoint directory")
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.cuda.get_device_name()}")
    # Inference only: no autograd graphs in the eager prefill, and an inference graph for torch.compile.
    torch.set_grad_enabled(False)
    model = load_model(torch, transformers, args.model)
    vocab = model.config.vocab_size
    report = {
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "checkpoint": str(pathlib.Path(args.model).resolve()),
        "dtype": "bfloat16",
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "model": {"layers": model.config.num_hidden_layers, "hidden": model.config.hidden_size, "vocab": vocab},
        "seed": args.seed,
        "timing": "batch1_us_per_token: eager = (generate(prefill+N) - generate(prefill only)) / N; compiled = "
                  "median per-step time from CUDA events. offline_tokens_per_s = offline_prompts * output_len / "
                  "wall time including prefill, excluding compilation (see compile_seconds).",
    }
    log("rough ETA: " + ", ".join(f"{m} ~{eta_seconds(m, args):.0f}s" for m in args.modes)
        + " (eager ~40 ms a step; compiling ~1 min per batch size)")
    failed = False
    for mode in args.modes:
        log(f"=== {mode} ===")
        try:
            if mode == "eager":
                report[mode] = run_eager(torch, model, args, vocab)
            else:
                report[mode] = run_compiled(torch, transformers, model, args, vocab)
        except Exception as e:  # a failing mode is reported and the next one still runs
            traceback.print_exc()
            report[mode] = {"error": f"{type(e).__name__}: {e}"}
            failed = True
        free_memory(torch)
        write(out, report)
    print(f"{report['gpu']}, torch {report['torch']}, transformers {report['transformers']}, {args.model}")
    print(table(report, args.modes))
    log(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
