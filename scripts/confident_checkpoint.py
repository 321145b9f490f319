#!/usr/bin/env python3
"""Copies a random-weight checkpoint with its token embedding (and untied LM head) scaled up.

Random Llama weights at Hugging Face's initialisation give logits whose top two differ by a fraction of
their spread, so a bf16 engine and a float32 reference may break a near-tie differently. Scaling the
embedding widens the logit spread (std of the logits grows with it) without changing the architecture, so
greedy decoding becomes confident enough to compare token by token.

Usage: confident_checkpoint.py --model SRC --out DST [--scale 8]
"""
import argparse
import pathlib
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--scale", type=float, default=8.0)
    args = p.parse_args()
    src, dst = pathlib.Path(args.model), pathlib.Path(args.out)
    shards = sorted(src.glob("*.safetensors"))
    if not shards:
        sys.exit(f"{src}: no .safetensors files")
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.suffix != ".safetensors":
            shutil.copy2(f, dst / f.name)
    scaled = []
    for shard in shards:
        tensors = load_file(str(shard))
        for name in ("model.embed_tokens.weight", "lm_head.weight"):
            if name in tensors:
                tensors[name] = (tensors[name].float() * args.scale).to(tensors[name].dtype)
                scaled.append(name)
        save_file(tensors, str(dst / shard.name), metadata={"format": "pt"})
    print(f"wrote {dst} with {', '.join(scaled)} scaled by {args.scale}", file=sys.stderr)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
