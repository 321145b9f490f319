#!/usr/bin/env python3
"""Correctness reference for spark-llm's GPU backend, from Hugging Face transformers on a CUDA device.

Loads a checkpoint (e.g. CheckpointWriter --shape llama-3.2-1b) in float32 with eager attention and TF32
off, so the numbers are a higher-precision reference for a bf16 engine, and writes into --out:

  logits.f32      teacher-forced logits of a seeded random sequence of --positions ids, one forward pass:
                  raw little-endian float32, [positions, vocab], row i = logits after ids[0..i].
  reference.json  {"tokens", "vocab", "positions", "dtype", "model", "transformers", ...} and the greedy
                  continuation of the first 16 ids: "greedy_prompt", "greedy_tokens" (--greedy-steps
                  tokens, min_new_tokens so EOS never stops it) and "greedy_margins" (top-1 minus top-2
                  score at each step, so a test can tell near-ties, where a bf16 engine may pick otherwise).
"""
import argparse
import array
import importlib.util
import json
import pathlib
import random
import sys
import time

START = time.monotonic()
GREEDY_PROMPT_LEN = 16


def log(message):
    print(f"[hf_logits_reference {time.monotonic() - START:6.1f}s] {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="Hugging Face checkpoint directory")
    p.add_argument("--out", required=True, help="directory to write logits.f32 and reference.json into")
    p.add_argument("--seed", type=int, default=1234, help="seed of the random token ids")
    p.add_argument("--positions", type=int, default=64, help="teacher-forced positions")
    p.add_argument("--greedy-steps", type=int, default=64, help="greedy tokens after the 16-id prompt")
    p.add_argument("--device", default="cuda", help="torch device (cpu works too, slowly)")
    args = p.parse_args()
    if args.positions < GREEDY_PROMPT_LEN:
        p.error(f"--positions must be at least {GREEDY_PROMPT_LEN} (the greedy prompt is its first ids)")
    if args.greedy_steps < 1:
        p.error("--greedy-steps must be at least 1")
    return args


def load_model(torch, transformers, path, device):
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(
            path, dtype=torch.float32, attn_implementation="eager")
    except TypeError:
        # transformers before 4.56 named the argument torch_dtype.
        model = transformers.AutoModelForCausalLM.from_pretrained(
            path, torch_dtype=torch.float32, attn_implementation="eager")
    model = model.to(device).eval()
    eos = model.config.eos_token_id
    first_eos = eos[0] if isinstance(eos, (list, tuple)) else eos
    # The checkpoint's generation_config samples; the reference is plain greedy.
    model.generation_config = transformers.GenerationConfig(
        do_sample=False, num_beams=1, eos_token_id=eos, pad_token_id=first_eos,
        bos_token_id=model.config.bos_token_id, disable_compile=True)
    return model


def f32le_bytes(torch, tensor):
    flat = tensor.detach().to("cpu", torch.float32).contiguous().reshape(-1)
    if importlib.util.find_spec("numpy") is not None:
        return flat.numpy().astype("<f4").tobytes()
    values = array.array("f", flat.tolist())  # torch can be installed without numpy
    if sys.byteorder != "little":
        values.byteswap()
    return values.tobytes()


def greedy(torch, model, prompt, steps):
    """Greedy continuation of `prompt` and, at each step, the margin between the two best scores."""
    ids = torch.tensor([prompt], device=model.device)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=steps,
                         min_new_tokens=steps, do_sample=False, output_scores=True, output_logits=True,
                         return_dict_in_generate=True)
    tokens = out.sequences[0, len(prompt):].tolist()
    if len(tokens) != steps:
        raise RuntimeError(f"generate returned {len(tokens)} tokens, expected {steps}")
    margins, suppressed = [], []
    # scores are what greedy chose from (min_new_tokens sets EOS to -inf); logits are the model's own.
    for step, (scores, logits) in enumerate(zip(out.scores, out.logits)):
        top = torch.topk(scores[0].float(), 2)
        if float(scores[0, tokens[step]]) < float(top.values[0]):
            raise RuntimeError(f"step {step}: generate chose {tokens[step]}, not a best score ({int(top.indices[0])})")
        margins.append(float(top.values[0] - top.values[1]))
        if int(torch.argmax(logits[0])) != tokens[step]:
            suppressed.append(step)
    return tokens, margins, suppressed


def main():
    args = parse_args()
    try:
        import torch
        import transformers
    except ImportError as e:
        sys.exit(f"hf_logits_reference needs torch and transformers: {e}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA device (torch.cuda.is_available() is False); pass --device cpu to run on the CPU")
    if not (pathlib.Path(args.model) / "config.json").is_file():
        sys.exit(f"{args.model} has no config.json: not a Hugging Face checkpoint directory")
    # A float32 reference: no TF32 in matmuls or convolutions.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    torch.manual_seed(0)

    log(f"torch {torch.__version__}, transformers {transformers.__version__}; loading {args.model} in float32")
    model = load_model(torch, transformers, args.model, args.device)
    vocab = model.config.vocab_size
    rng = random.Random(args.seed)
    tokens = [rng.randrange(vocab) for _ in range(args.positions)]

    log(f"teacher-forced forward of {args.positions} positions")
    with torch.no_grad():
        logits = model(torch.tensor([tokens], device=model.device), use_cache=False).logits[0]
    if tuple(logits.shape) != (args.positions, vocab):
        raise RuntimeError(f"logits have shape {tuple(logits.shape)}, expected {(args.positions, vocab)}")
    if not bool(torch.isfinite(logits).all()):
        raise RuntimeError("the reference logits are not all finite")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "logits.f32").write_bytes(f32le_bytes(torch, logits))
    teacher_argmax = logits.argmax(dim=-1).tolist()
    del logits

    prompt = tokens[:GREEDY_PROMPT_LEN]
    log(f"greedy continuation: {args.greedy_steps} tokens after {len(prompt)} prompt ids")
    with torch.no_grad():
        greedy_tokens, margins, suppressed = greedy(torch, model, prompt, args.greedy_steps)

    reference = {
        "description": "float32 transformers reference (eager attention, TF32 off). logits.f32: raw "
                       "little-endian float32 [positions, vocab], row i = logits after tokens[0..i] in one "
                       "forward pass. greedy_tokens: greedy continuation of greedy_prompt; greedy_margins[i]: "
                       "top-1 minus top-2 score at step i; greedy_eos_suppressed_steps: steps where the raw "
                       "argmax was an EOS id that min_new_tokens suppressed.",
        "tokens": tokens,
        "vocab": vocab,
        "positions": args.positions,
        "dtype": "float32",
        "logits_file": "logits.f32",
        "teacher_forced_argmax": teacher_argmax,
        "model": str(pathlib.Path(args.model).resolve()),
        "seed": args.seed,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device,
        "attn_implementation": "eager",
        "greedy_prompt": prompt,
        "greedy_tokens": greedy_tokens,
        "greedy_margins": margins,
        "greedy_eos_suppressed_steps": suppressed,
    }
    (out / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    log(f"wrote {out / 'logits.f32'} and {out / 'reference.json'}; smallest greedy margin "
        f"{min(margins):.4g} at step {margins.index(min(margins))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
