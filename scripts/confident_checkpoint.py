#!/usr/bin/env python3
"""Copies a random-weight Llama checkpoint and writes into it a next-token rule, so that greedy decoding is confident.

Why: at Hugging Face's initialisation the logits of a random model are close to Gaussian over the vocabulary, so
the best two are often a few hundredths apart (min over 64 greedy steps of the Llama-3.2-1B shape: 0.031) while a
bf16 engine's logits differ from a float32 reference's by about 0.1 (up to 0.4 on the margin): greedy token
equality cannot be tested on such a model. Scaling the tied embedding does not help, as the engine's error scales
with the logits (8x: the first near-tie falls at step 20), and past a point it makes the model repeat its input
token (32x).

What: the copy keeps every weight of the source except the ones below, and so the shape, the tied embeddings and
the random attention and MLPs of all layers. The vocabulary V is factored as R x C with R and C coprime (Llama 3:
128256 = 256 x 501): a seeded shuffle gives token t a code pair (r, c), 0 <= r < R, 0 <= c < C.
  - Embedding (tied, so also the LM head): row t gets A * (u_r + v_c) added, where u_0..u_{R-1}, v_0..v_{C-1} are
    orthonormal directions of the hidden space (columns of a seeded random rotation). A is large enough that the
    token's own direction dominates the residual stream at layer 0's MLP.
  - Layer 0 MLP: units 0..R+C-1 (of 8192) become a lookup table. The unit of row code r reads u_r (gate and up
    rows along u_r) and writes G * A * u_{r+1 mod R} (down_proj column); the unit of column code c likewise reads
    v_c and writes v_{c+1 mod C}. Other codes' units see almost nothing: the directions are orthogonal.
So the model predicts (r, c) -> (r+1, c+1): a bigram law that its weights encode, and confidently: on the 1B shape
the top-1 logit leads the runner-up by at least 2,800 over 64 greedy steps, while the CPU model of the CUDA
backend's bf16 activations (Bf16Rounding) moves that margin by at most 13. It is not a repetition: R and C being
coprime, the successor runs through the whole vocabulary in one cycle, so 64 greedy tokens are all different and,
through the shuffle, look like random ids. The rest of the network (attention over the context, the other layers)
is the random initialisation and only perturbs that prediction; the teacher-forced logits test on the unmodified
checkpoint is the one that measures it.

Usage: confident_checkpoint.py --model SRC --out DST [--seed 7]
"""
import argparse
import math
import pathlib
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

# Norm of A * (u_r + v_c) is A * sqrt(2); layer 0's random attention adds a vector of norm up to about 36 (at
# the 1B shape), so A = 128 makes the token's own direction about 5x longer.
CODE_SCALE = 128.0
# The table writes G * A along the successor's directions: 4x the input token's part, so the final norm's
# direction is mostly the successor's and the input token's own logit stays far behind.
SUCCESSOR_GAIN = 4.0
# Gate pre-activation of a unit whose code is the input token's: silu(8) ≈ 8 (the gate fully open), while units
# of other codes stay near silu(0) = 0.
GATE_OPEN = 8.0


def coprime_factors(vocab, hidden, units):
    """R x C = vocab with R, C coprime, R + C directions and units available, R the largest <= sqrt(vocab)."""
    for rows in range(math.isqrt(vocab), 1, -1):
        cols = vocab // rows
        if rows * cols == vocab and math.gcd(rows, cols) == 1 and rows + cols <= min(hidden, units):
            return rows, cols
    return None


def orthonormal_directions(hidden, count, generator):
    """`count` orthonormal columns of a random rotation of the hidden space (float64 QR of a Gaussian matrix)."""
    gaussian = torch.randn(hidden, count, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    return q * torch.sign(torch.diagonal(r))  # fixes QR's sign freedom: same seed, same directions


def write_rule(tensors, config, seed):
    """Adds the codes to the embedding and the successor table to layer 0's MLP, in place (float64, then bf16)."""
    hidden, units, vocab = config["hidden"], config["units"], config["vocab"]
    factors = coprime_factors(vocab, hidden, units)
    if factors is None:
        sys.exit(f"vocab {vocab} has no coprime factorisation R x C with R + C <= {min(hidden, units)}")
    rows, cols = factors
    generator = torch.Generator().manual_seed(seed)
    directions = orthonormal_directions(hidden, rows + cols, generator)
    u, v = directions[:, :rows], directions[:, rows:]
    pair = torch.randperm(vocab, generator=generator)  # token t is code pair number pair[t]
    r, c = pair % rows, pair // rows

    name = "model.embed_tokens.weight"
    embedding = tensors[name].double() + CODE_SCALE * (u[:, r] + v[:, c]).T
    tensors[name] = embedding.to(tensors[name].dtype)

    # A token's normed input x has norm sqrt(hidden), about 1/sqrt(2) of it along each of its two codes.
    along_code = math.sqrt(hidden / 2)
    gate_rows = GATE_OPEN / along_code * directions.T            # [R + C, hidden]
    up_rows = 1.0 / along_code * directions.T                     # up = 1 for the input's codes
    successors = torch.cat([u.roll(-1, dims=1), v.roll(-1, dims=1)], dim=1)  # column k: code k's successor
    down_columns = SUCCESSOR_GAIN * CODE_SCALE / GATE_OPEN * successors      # [hidden, R + C]
    prefix = "model.layers.0.mlp."
    for part, values in (("gate_proj", gate_rows), ("up_proj", up_rows)):
        weight = tensors[prefix + part + ".weight"]
        weight[: rows + cols] = values.to(weight.dtype)
    down = tensors[prefix + "down_proj.weight"]
    down[:, : rows + cols] = down_columns.to(down.dtype)
    return rows, cols


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=7, help="seed of the code directions")
    args = p.parse_args()
    src, dst = pathlib.Path(args.model), pathlib.Path(args.out)
    shards = sorted(src.glob("*.safetensors"))
    if not shards:
        sys.exit(f"{src}: no .safetensors files")
    tensors, origin = {}, {}
    for shard in shards:
        for name, tensor in load_file(str(shard)).items():
            tensors[name], origin[name] = tensor, shard.name
    if "lm_head.weight" in tensors:
        sys.exit("the checkpoint has an untied lm_head: the rule is written for tied embeddings")
    embedding = tensors["model.embed_tokens.weight"]
    config = {"vocab": embedding.shape[0], "hidden": embedding.shape[1],
              "units": tensors["model.layers.0.mlp.gate_proj.weight"].shape[0]}
    rows, cols = write_rule(tensors, config, args.seed)

    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.suffix != ".safetensors":
            shutil.copy2(f, dst / f.name)
    for shard in shards:
        part = {name: t.contiguous() for name, t in tensors.items() if origin[name] == shard.name}
        save_file(part, str(dst / shard.name), metadata={"format": "pt"})
    print(f"wrote {dst}: token t = ({rows} row codes x {cols} column codes), rule (r, c) -> (r+1, c+1) in layer 0's "
          f"MLP units 0..{rows + cols - 1}", file=sys.stderr)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
