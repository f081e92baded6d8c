#!/usr/bin/env python3
"""Streams the greedy continuation of a prompt with fathom's Python binding (fathom.py, ctypes).
Usage: generate.py MODEL.gguf [PROMPT] [N_TOKENS]; prints what `fathom run --temp 0` prints."""

import sys

import fathom


def main(argv):
    if len(argv) < 2:
        print("usage: generate.py MODEL.gguf [PROMPT] [N_TOKENS]", file=sys.stderr)
        return 2
    prompt = argv[2] if len(argv) > 2 else "Once upon a time"
    n_tokens = int(argv[3]) if len(argv) > 3 else 64
    out = sys.stdout.buffer  # the pieces are UTF-8 text; write them unchanged
    with fathom.Model(argv[1]) as model:
        for piece in model.generate(prompt, max_tokens=n_tokens, temperature=0):
            out.write(piece.encode("utf-8"))
            out.flush()
    out.write(b"\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except fathom.Error as e:
        print("error:", e, file=sys.stderr)
        sys.exit(1)
