#!/usr/bin/python3
"""Exports the trained demo model (work/ckpt.pt) as a Hugging Face folder with the released
DeepSeek-V3 names, then evaluates and makes golden data from the EXPORTED (bf16) weights.

Writes:
  ../fathom-demo-v3/   config.json, model.safetensors (BF16; the MTP layer model.layers.{n}
                       holds copies of the shared embedding and head as embed_tokens and
                       shared_head.head), tokenizer.model, tokenizer_config.json
  ../golden/demo_golden.safetensors   prompts, all-position main logits, MTP logits, greedy
                       continuation of the PyTorch forward on the exported weights
  ../golden/heldout_sample.txt / .ids  first held-out verses and their spm_encode ids
  work/metrics.json    held-out perplexity and top-1 accuracies (main t+1, MTP t+2)
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import sentencepiece as spm
import torch

import hf_load
import st_io
import train as T

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
OUT = os.path.normpath(os.path.join(HERE, "..", "fathom-demo-v3"))
GOLDEN = os.path.normpath(os.path.join(HERE, "..", "golden"))

PROMPTS = ["In the beginning God created", "And the LORD said unto Moses,",
           "Blessed are the meek: for they"]
GREEDY_TOKENS = 24
SAMPLE_VERSES = 200

# A plain chat layout for a model that was never instruction-tuned (docs/DEMO_MODEL.md).
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ m['content'] }}\n"
    "{% elif m['role'] == 'user' %}Question: {{ m['content'] }}\n"
    "{% else %}Answer: {{ m['content'] }}\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}Answer:{% endif %}")


def export_folder(ckpt):
    cfg = ckpt["config"]
    sd = ckpt["state_dict"]
    n = cfg["num_hidden_layers"]
    tensors = {k: v for k, v in sd.items()}
    tensors[f"model.layers.{n}.embed_tokens.weight"] = sd["model.embed_tokens.weight"]
    tensors[f"model.layers.{n}.shared_head.head.weight"] = sd["lm_head.weight"]
    dtypes = {}
    for k in tensors:
        # The balancing bias steers routing only; it stays exact (F32) as in the released
        # checkpoints, where e_score_correction_bias is float32.
        dtypes[k] = "F32" if k.endswith("e_score_correction_bias") else "BF16"
    os.makedirs(OUT, exist_ok=True)
    st_io.write(os.path.join(OUT, "model.safetensors"), tensors, dtypes, {"format": "pt"})
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    shutil.copyfile(os.path.join(WORK, "tokenizer.model"), os.path.join(OUT, "tokenizer.model"))
    tok_cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "model_max_length": cfg["max_position_embeddings"],
        "tokenizer_class": "LlamaTokenizer",
        "chat_template": CHAT_TEMPLATE,
    }
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump(tok_cfg, f, indent=2)
        f.write("\n")
    return sum(t.numel() for t in tensors.values())


@torch.no_grad()
def golden(net, sp):
    os.makedirs(GOLDEN, exist_ok=True)
    out = {}
    meta = {"prompts": PROMPTS, "min_greedy_margin": None}
    margins = []
    for i, text in enumerate(PROMPTS):
        ids = [sp.bos_id()] + sp.encode(text)
        toks = list(ids)
        for _ in range(GREEDY_TOKENS):
            logits, _ = net(torch.tensor([toks]))
            row = logits[0, -1]
            top2 = row.topk(2).values
            margins.append((top2[0] - top2[1]).item())
            toks.append(int(row.argmax()))
        x = torch.tensor([ids])
        logits, mtp = net(x, torch.tensor([ids[1:] + [toks[len(ids)]]]))
        out[f"prompt_tokens.{i}"] = torch.tensor(ids, dtype=torch.int32)
        out[f"gen_tokens.{i}"] = torch.tensor(toks[len(ids):], dtype=torch.int32)
        out[f"logits.{i}"] = logits[0]
        # MTP row p: main hidden state at p and token p+1 (the prompt's, then the first greedy
        # token for the last row) -> predicts token p+2.
        out[f"mtp_input_tokens.{i}"] = torch.tensor(ids[1:] + [toks[len(ids)]], dtype=torch.int32)
        out[f"mtp_logits.{i}"] = mtp[0]
        meta[f"text.{i}"] = sp.decode(toks[1:])
    meta["min_greedy_margin"] = min(margins)
    dt = {k: ("I32" if v.dtype == torch.int32 else "F32") for k, v in out.items()}
    st_io.write(os.path.join(GOLDEN, "demo_golden.safetensors"), out, dt)
    return meta


def heldout_sample():
    with open(os.path.join(WORK, "heldout.txt")) as f:
        lines = f.read().split("\n")[:SAMPLE_VERSES]
    path = os.path.join(GOLDEN, "heldout_sample.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    ids = subprocess.run(["spm_encode", "--model=" + os.path.join(OUT, "tokenizer.model"),
                          "--output_format=id", "--input=" + path], check=True,
                         stdout=subprocess.PIPE).stdout
    with open(os.path.join(GOLDEN, "heldout_sample.ids"), "wb") as f:
        f.write(ids)


def main():
    torch.set_num_threads(2)
    ckpt = torch.load(os.path.join(WORK, sys.argv[1] if len(sys.argv) > 1 else "ckpt.pt"))
    n_params = export_folder(ckpt)
    net, cfg = hf_load.load_hf(OUT)  # the bf16-rounded weights as fathom reads them
    sp = spm.SentencePieceProcessor(model_file=os.path.join(OUT, "tokenizer.model"))
    meta = golden(net, sp)
    heldout_sample()
    ev = T.evaluate(net, T.heldout_windows(sp, cfg["bos_token_id"]))
    sizes = {f: os.path.getsize(os.path.join(OUT, f)) for f in sorted(os.listdir(OUT))}
    metrics = {"heldout": ev, "mtp_to_main_acc": ev["mtp_acc"] / ev["acc"],
               "exported_params": n_params, "steps": ckpt.get("steps"),
               "train_wall_s": ckpt.get("wall_s"), "files": sizes, "golden": meta}
    with open(os.path.join(WORK, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
