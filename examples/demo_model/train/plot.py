#!/usr/bin/python3
"""Plots the demo model's training curves (work/log.jsonl): main and MTP training loss per step
(smoothed) and the periodic held-out losses, to docs/images/demo_model_loss.png."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "..", "docs", "images",
                                    "demo_model_loss.png"))


def smooth(y, k=20):
    y = np.asarray(y)
    if len(y) < k:
        return y
    c = np.cumsum(np.insert(y, 0, 0.0))
    head = [y[:i + 1].mean() for i in range(k - 1)]
    return np.concatenate([head, (c[k:] - c[:-k]) / k])


def main():
    recs = [json.loads(l) for l in open(os.path.join(HERE, "work", "log.jsonl"))]
    steps = [r["step"] for r in recs]
    ev = [r for r in recs if "eval" in r]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(steps, smooth([r["loss"] for r in recs]), label="main (t+1), train", color="C0")
    ax.plot(steps, smooth([r["mtp_loss"] for r in recs]), label="MTP (t+2), train", color="C1")
    ax.plot([r["step"] for r in ev], [r["eval"]["ce"] for r in ev], "o--", color="C0",
            label="main (t+1), held-out", markersize=4)
    ax.plot([r["step"] for r in ev], [r["eval"]["mtp_ce"] for r in ev], "s--", color="C1",
            label="MTP (t+2), held-out", markersize=4)
    ax.set_xlabel("step (2048 tokens each)")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title("fathom-demo-v3: training on the KJV Bible (1 CPU thread)")
    ax.set_ylim(bottom=min(2.0, ax.get_ylim()[0]), top=8.0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    fig.savefig(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
