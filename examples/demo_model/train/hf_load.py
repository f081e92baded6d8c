"""Builds a DeepseekV3 (model.py) from a Hugging Face folder: config.json + model.safetensors,
including the MTP layer's own copies of the embedding and head."""
import json
import os

import torch
import torch.nn as nn

import model as M
import st_io


def load_hf(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    net = M.DeepseekV3(cfg)
    w = st_io.read(os.path.join(folder, "model.safetensors"))
    n = cfg["num_hidden_layers"]
    mtp = net.model.layers[n]
    mtp.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
    mtp.head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
    w = dict(w)
    mtp.embed_tokens.weight.data.copy_(w.pop(f"model.layers.{n}.embed_tokens.weight"))
    mtp.head.weight.data.copy_(w.pop(f"model.layers.{n}.shared_head.head.weight"))
    sd = net.state_dict()
    sd = {k: v for k, v in sd.items() if not k.startswith(f"model.layers.{n}.embed_tokens")
          and not k.startswith(f"model.layers.{n}.head")}
    missing = set(sd) - set(w)
    extra = set(w) - set(sd)
    if missing or extra:
        raise ValueError(f"tensor names differ: missing {sorted(missing)[:5]} extra {sorted(extra)[:5]}")
    net.load_state_dict(w, strict=False)
    return net.eval(), cfg
