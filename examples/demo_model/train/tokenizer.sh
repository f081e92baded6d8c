#!/bin/sh
# Trains the demo model's SentencePiece tokenizer on work/train.txt (written by corpus.py) with
# Debian's spm_train: BPE, 2048 pieces, byte fallback, one thread (deterministic).
# Output: work/tokenizer.model and work/tokenizer.vocab.
set -eu
cd "$(dirname "$0")/work"
spm_train --input=train.txt --model_prefix=tokenizer --model_type=bpe --vocab_size=2048 \
  --character_coverage=1.0 --byte_fallback=true --num_threads=1 --max_sentence_length=8192 \
  --input_sentence_size=0 --shuffle_input_sentence=false --split_digits=true \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --unk_piece='<unk>' --bos_piece='<s>' --eos_piece='</s>' --minloglevel=1
sha256sum tokenizer.model
