#!/usr/bin/python3
"""Extracts the demo model's corpus: the King James Bible from Debian's bible-kjv-text.

The text (public domain) is printed by the `bible` program of the bible-kjv package, one verse
per line, cleaned (whitespace collapsed), and split by chapter: every 20th chapter (chapter
index % 20 == 10, counted over the whole book sequence) is held out for evaluation (about 5%).
Writes work/train.txt, work/heldout.txt and work/corpus.sha256 (sha256 of the packaged data file,
of the raw dump and of both splits); `--check` compares them with corpus.sha256 next to this
script (the checksums committed to the repository).
"""
import hashlib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
DATA_FILE = "/usr/lib/bible.data"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    os.makedirs(WORK, exist_ok=True)
    raw = subprocess.run(["bible", "-l100000", "Gen1:1-Rev22:21"], check=True,
                         stdout=subprocess.PIPE).stdout
    chapters = []  # (title, [verses])
    for line in raw.decode("ascii").split("\n"):
        if not line.strip():
            continue
        m = re.match(r"^\s+(\d+) (.*)$", line)
        if m:
            if not chapters:
                raise SystemExit("verse before the first chapter header")
            chapters[-1][1].append(" ".join(m.group(2).split()))
        else:
            chapters.append((line.strip(), []))
    train, held = [], []
    for i, (_, verses) in enumerate(chapters):
        (held if i % 20 == 10 else train).extend(verses)
    train_txt = ("\n".join(train) + "\n").encode("ascii")
    held_txt = ("\n".join(held) + "\n").encode("ascii")
    with open(os.path.join(WORK, "train.txt"), "wb") as f:
        f.write(train_txt)
    with open(os.path.join(WORK, "heldout.txt"), "wb") as f:
        f.write(held_txt)
    with open(DATA_FILE, "rb") as f:
        data_sum = sha256(f.read())
    sums = (f"{data_sum}  {DATA_FILE}\n{sha256(raw)}  bible-dump.txt\n"
            f"{sha256(train_txt)}  train.txt\n{sha256(held_txt)}  heldout.txt\n")
    with open(os.path.join(WORK, "corpus.sha256"), "w") as f:
        f.write(sums)
    n_verses = len(train) + len(held)
    print(f"{len(chapters)} chapters, {n_verses} verses; train {len(train)} verses "
          f"{len(train_txt)} bytes, held out {len(held)} verses {len(held_txt)} bytes "
          f"({100.0 * len(held_txt) / (len(train_txt) + len(held_txt)):.2f}%)")
    if "--check" in sys.argv:
        with open(os.path.join(HERE, "corpus.sha256")) as f:
            want = f.read()
        if want != sums:
            print("checksums differ from corpus.sha256:\n" + sums)
            return 1
        print("checksums match corpus.sha256")
    return 0


if __name__ == "__main__":
    sys.exit(main())
