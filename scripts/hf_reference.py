#!/usr/bin/env python3
"""Reference outputs from Hugging Face libraries, committed as golden test data.

Runs where torch, transformers and tokenizers are installed (the GPU host); needs no GPU, and runs the
model on the CPU in float32 so the numbers are exact references, free of TF32 and kernel choices.

  logits:    teacher-forced logits of a checkpoint written by spark-llm's CheckpointWriter: the last
             position of a prefill, then each of N single-token decode steps through the KV cache.
  tokenizer: ids of a list of texts (with special tokens added) and a rendered chat template.
"""
import argparse
import base64
import hashlib
import json
import pathlib
import random
import sys


def logits(args):
    import torch
    import transformers

    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM.from_pretrained(
        args.model, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    vocab = model.config.vocab_size
    rng = random.Random(args.seed)
    ids = [rng.randrange(vocab) for _ in range(args.prefill + args.decode)]
    rows = []
    with torch.no_grad():
        out = model(torch.tensor([ids[: args.prefill]]), use_cache=True)
        rows.append(out.logits[0, -1])
        cache = out.past_key_values
        for i in range(args.prefill, args.prefill + args.decode):
            out = model(torch.tensor([[ids[i]]]), past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            rows.append(out.logits[0, -1])
    weights = pathlib.Path(args.model) / "model.safetensors"
    result = {
        "description": "float32 logits from transformers' LlamaForCausalLM: row 0 after a prefill of "
        "the first prefill_length ids, row i after decoding id prefill_length+i-1",
        "shape": args.shape,
        "checkpoint_seed": args.checkpoint_seed,
        "model_safetensors_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "prefill_length": args.prefill,
        "decode_steps": args.decode,
        "token_ids": ids,
        "vocab_size": vocab,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "logits_f32le_base64": [
            base64.b64encode(r.to(torch.float32).numpy().astype("<f4").tobytes()).decode() for r in rows
        ],
    }
    pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


def tokenizer(args):
    import tokenizers
    import transformers

    texts = json.loads(pathlib.Path(args.texts).read_text())
    tok = tokenizers.Tokenizer.from_file(str(pathlib.Path(args.tokenizer_dir) / "tokenizer.json"))
    ids = [tok.encode(t, add_special_tokens=True).ids for t in texts]
    hf = transformers.AutoTokenizer.from_pretrained(args.tokenizer_dir)
    messages = [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Name three rivers of Europe."},
    ]
    chat = hf.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, date_string="26 Jul 2024"
    )
    result = {
        "description": "HF tokenizers ids (add_special_tokens=True) of texts.json, and the chat "
        "template rendered by transformers for the messages",
        "name": args.name,
        "tokenizers_version": tokenizers.__version__,
        "transformers_version": transformers.__version__,
        "tokenizer_json_sha256": hashlib.sha256(
            (pathlib.Path(args.tokenizer_dir) / "tokenizer.json").read_bytes()
        ).hexdigest(),
        "ids": ids,
        "chat_messages": messages,
        "chat_rendered": chat,
    }
    pathlib.Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("logits")
    p.add_argument("--model", required=True, help="checkpoint directory")
    p.add_argument("--shape", required=True, help="CheckpointWriter shape name, recorded in the output")
    p.add_argument("--checkpoint-seed", type=int, required=True, help="CheckpointWriter --seed used")
    p.add_argument("--prefill", type=int, default=32)
    p.add_argument("--decode", type=int, default=16)
    p.add_argument("--seed", type=int, default=2024, help="seed of the token ids")
    p.add_argument("--out", required=True)
    p.set_defaults(run=logits)
    t = sub.add_parser("tokenizer")
    t.add_argument("--tokenizer-dir", required=True)
    t.add_argument("--name", required=True)
    t.add_argument("--texts", required=True, help="JSON array of strings")
    t.add_argument("--out", required=True)
    t.set_defaults(run=tokenizer)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
