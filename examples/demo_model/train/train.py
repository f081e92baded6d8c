#!/usr/bin/python3
"""Trains the demo model (a small DeepSeek-V3, model.py) on work/train.txt on the CPU.

Reproducible: fixed seeds (python, numpy, torch), a precomputed data order, 2 threads.
Every training sequence is <s> followed by SEQ_LEN tokens of the verse stream starting at a
verse boundary (as `fathom run` feeds <s> + prompt). Loss = CE(main, t+1) + lambda * CE(MTP, t+2)
with lambda = 0.3 for the first 2/3 of the steps and 0.1 after (DeepSeek-V3: 0.3 for the first
10T of 14.8T tokens, then 0.1). After each step the e_score_correction_bias of every MoE layer
moves by gamma * sign(mean load - load) (auxiliary-loss-free balancing; gamma 0.01, V3 used 0.001 over a run ~10^7 times longer).
One thread: on the shared 2-core machine two threads spent their time waiting for each other.
Writes work/ckpt.pt (weights + config), work/log.jsonl (losses per step, periodic held-out eval).

Usage: train.py [--steps N] [--out DIR]
"""
import os

# Before torch is imported: one BLAS thread (Debian links torch to the system libblas; install
# libopenblas0-pthread, the reference BLAS is ~10x slower); OpenMP threads sleep when idle.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import math
import random
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

import model as M

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")

SEQ_LEN = 128
BATCH = 16
SEED = 1234
PEAK_LR = 4e-3
MIN_LR = 4e-4
WARMUP = 30
WEIGHT_DECAY = 0.1
BIAS_GAMMA = 0.01
EVAL_EVERY = 50
EVAL_WINDOWS = 64  # held-out windows used by the periodic evaluation (the final eval uses all)

CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "ep_size": 1,
    "first_k_dense_replace": 1,
    "hidden_act": "silu",
    "hidden_size": 128,
    "initializer_range": 0.02,
    "intermediate_size": 384,
    "kv_lora_rank": 64,
    "max_position_embeddings": 512,
    "model_type": "deepseek_v3",
    "moe_intermediate_size": 64,
    "moe_layer_freq": 1,
    "n_group": 4,
    "n_routed_experts": 8,
    "n_shared_experts": 1,
    "norm_topk_prob": True,
    "num_attention_heads": 4,
    "num_experts_per_tok": 2,
    "num_hidden_layers": 3,
    "num_key_value_heads": 4,
    "num_nextn_predict_layers": 1,
    "q_lora_rank": 96,
    "qk_nope_head_dim": 32,
    "qk_rope_head_dim": 16,
    "rms_norm_eps": 1e-06,
    "rope_scaling": {
        "beta_fast": 32,
        "beta_slow": 1,
        "factor": 4,
        "mscale": 1.0,
        "mscale_all_dim": 1.0,
        "original_max_position_embeddings": 128,
        "type": "yarn",
    },
    "rope_theta": 10000,
    "routed_scaling_factor": 2.5,
    "scoring_func": "sigmoid",
    "tie_word_embeddings": False,
    "topk_group": 2,
    "topk_method": "noaux_tc",
    "torch_dtype": "bfloat16",
    "transformers_version": "4.46.3",
    "use_cache": True,
    "v_head_dim": 32,
    "vocab_size": 2048,
}


def load_verses(path, sp):
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    return [sp.encode(l) for l in lines]


def stream(verses):
    toks = np.concatenate([np.asarray(v, dtype=np.int64) for v in verses])
    starts = np.cumsum([0] + [len(v) for v in verses[:-1]])
    return toks, starts


def heldout_windows(sp, bos, n=None):
    """Non-overlapping windows: <s> + SEQ_LEN tokens of the held-out stream."""
    toks, _ = stream(load_verses(os.path.join(WORK, "heldout.txt"), sp))
    w = len(toks) // SEQ_LEN
    arr = toks[: w * SEQ_LEN].reshape(w, SEQ_LEN)
    arr = np.concatenate([np.full((w, 1), bos, dtype=np.int64), arr], axis=1)
    return torch.from_numpy(arr if n is None else arr[:n])


@torch.no_grad()
def evaluate(net, windows, batch=32):
    """Held-out main CE/ppl/top-1 acc (t+1, all SEQ_LEN targets per window) and MTP CE/top-1 acc
    (t+2, SEQ_LEN-1 targets per window)."""
    net.eval()
    ce = ce_m = 0.0
    ok = ok_m = n = n_m = 0
    for i in range(0, len(windows), batch):
        x = windows[i:i + batch]
        logits, mtp = net(x[:, :-1], x[:, 1:])
        tgt = x[:, 1:]
        ce += F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1),
                              reduction="sum").item()
        ok += (logits.argmax(-1) == tgt).sum().item()
        n += tgt.numel()
        m = mtp[:, :-1]
        tm = x[:, 2:]
        ce_m += F.cross_entropy(m.reshape(-1, m.size(-1)), tm.reshape(-1), reduction="sum").item()
        ok_m += (m.argmax(-1) == tm).sum().item()
        n_m += tm.numel()
    net.train()
    return {"ce": ce / n, "ppl": math.exp(ce / n), "acc": ok / n, "mtp_ce": ce_m / n_m,
            "mtp_acc": ok_m / n_m, "tokens": n}


def lr_at(step, steps):
    if step < WARMUP:
        return PEAK_LR * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, steps - WARMUP)
    return MIN_LR + 0.5 * (PEAK_LR - MIN_LR) * (1 + math.cos(math.pi * t))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--out", default=WORK)
    args = ap.parse_args()
    torch.set_num_threads(1)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    os.makedirs(args.out, exist_ok=True)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(WORK, "tokenizer.model"))
    assert sp.get_piece_size() == CONFIG["vocab_size"]
    bos = CONFIG["bos_token_id"]
    toks, starts = stream(load_verses(os.path.join(WORK, "train.txt"), sp))
    starts = starts[starts + SEQ_LEN <= len(toks)]
    rng = np.random.RandomState(SEED)
    order = rng.randint(0, len(starts), size=(args.steps, BATCH))
    heldout = heldout_windows(sp, bos, EVAL_WINDOWS)
    print(f"train tokens {len(toks)}, verse starts {len(starts)}, steps {args.steps}, "
          f"tokens/step {BATCH * SEQ_LEN}")

    net = M.DeepseekV3(CONFIG)
    total = sum(p.numel() for p in net.parameters())
    print(f"parameters (shared embedding/head counted once): {total}")
    decay = [p for p in net.parameters() if p.dim() == 2]
    no_decay = [p for p in net.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=PEAK_LR, betas=(0.9, 0.95), eps=1e-8)
    moes = net.moe_layers()
    log = open(os.path.join(args.out, "log.jsonl"), "w")
    t0 = time.time()
    for step in range(args.steps):
        idx = starts[order[step]]
        seq = np.stack([toks[i:i + SEQ_LEN] for i in idx])
        x = torch.from_numpy(np.concatenate([np.full((BATCH, 1), bos), seq], axis=1))
        lam = 0.3 if step < (2 * args.steps) // 3 else 0.1
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps)
        logits, mtp = net(x[:, :-1], x[:, 1:])
        loss_main = F.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1))
        m = mtp[:, :-1]
        loss_mtp = F.cross_entropy(m.reshape(-1, m.size(-1)), x[:, 2:].reshape(-1))
        loss = loss_main + lam * loss_mtp
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0).item()
        opt.step()
        imbalance = []
        with torch.no_grad():
            for moe in moes:
                load = moe.last_load
                moe.gate.e_score_correction_bias += BIAS_GAMMA * torch.sign(load.mean() - load)
                imbalance.append((load.max() / load.mean()).item())
        rec = {"step": step + 1, "loss": loss_main.item(), "mtp_loss": loss_mtp.item(),
               "lambda": lam, "lr": lr_at(step, args.steps), "gnorm": gnorm,
               "max_load_ratio": max(imbalance), "time": time.time() - t0}
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == args.steps:
            rec["eval"] = evaluate(net, heldout)
            print(json.dumps(rec), flush=True)
            torch.save({"config": CONFIG, "state_dict": net.state_dict(), "steps": step + 1},
                       os.path.join(args.out, "ckpt_partial.pt"))
        elif (step + 1) % 10 == 0:
            print(f"step {step + 1} loss {rec['loss']:.4f} mtp {rec['mtp_loss']:.4f} "
                  f"load {rec['max_load_ratio']:.2f} {rec['time']:.0f}s", flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
    torch.save({"config": CONFIG, "state_dict": net.state_dict(), "steps": args.steps,
                "wall_s": time.time() - t0}, os.path.join(args.out, "ckpt.pt"))
    print(f"done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
