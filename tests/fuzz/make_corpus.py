#!/usr/bin/env python3
"""Writes fathom's hostile-input files (Python standard library only; nothing here is committed).

  make_corpus.py --regression DIR   crafted files for each known attack class on model/tokenizer
                                    parsers (the GGUF CVE classes of llama.cpp and Ollama, and the
                                    same ideas for safetensors, config.json, tokenizer.json,
                                    SentencePiece .model and chat templates) plus DIR/MANIFEST.tsv:
                                    file <TAB> loader <TAB> text the error must contain.
                                    tests/hostile_inputs_test.cc loads each and requires that error.
  make_corpus.py --seeds DIR        seed corpora for the libFuzzer targets (tests/fuzz): small
                                    generated files and symbolic links to the fixtures in
                                    ../shared/fixtures (referenced, never copied).
"""
import argparse
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("FATHOM_FIXTURES") or os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "fixtures"))

# ---- GGUF encoding ---------------------------------------------------------------------------
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
              BOOL: "<B", U64: "<Q", I64: "<q", F64: "<d"}
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8


def gstr(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gvalue(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gvalue(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def gkv(key, t, v):
    return gstr(key) + struct.pack("<I", t) + gvalue(t, v)


def gtensor_info(name, dims, ttype, offset):
    return (gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
            + struct.pack("<IQ", ttype, offset))


def gguf(kvs, tensors, version=3, alignment=32, n_tensors=None, n_kv=None, raw_kvs=b""):
    """kvs: [(key, type, value)]; tensors: [(name, dims, type, data bytes)] laid out in order."""
    head = b"GGUF" + struct.pack("<I", version)
    head += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors,
                        len(kvs) if n_kv is None else n_kv)
    body = b"".join(gkv(*kv) for kv in kvs) + raw_kvs
    infos, data, off = b"", b"", 0
    for name, dims, ttype, blob in tensors:
        infos += gtensor_info(name, dims, ttype, off)
        pad = (-len(blob)) % alignment
        data += blob + b"\0" * pad
        off += len(blob) + pad
    out = head + body + infos
    out += b"\0" * ((-len(out)) % alignment)
    return out + data


def read_gguf(path):
    """Minimal reader for trusted fixture files: (kvs, tensors with raw data)."""
    b = open(path, "rb").read()
    o = [4]

    def take(fmt):
        v = struct.unpack_from(fmt, b, o[0])
        o[0] += struct.calcsize(fmt)
        return v[0]

    def rstr():
        n = take("<Q")
        s = b[o[0]:o[0] + n]
        o[0] += n
        return s.decode("utf-8", "surrogateescape")

    def rval(t):
        if t == STR:
            return rstr()
        if t == ARR:
            et, n = take("<I"), take("<Q")
            return (et, [rval(et) for _ in range(n)])
        return take(SCALAR_FMT[t])

    take("<I")
    nt, nkv = take("<Q"), take("<Q")
    kvs = []
    for _ in range(nkv):
        k = rstr()
        t = take("<I")
        kvs.append((k, t, rval(t)))
    infos = []
    for _ in range(nt):
        name = rstr()
        nd = take("<I")
        dims = [take("<Q") for _ in range(nd)]
        infos.append((name, dims, take("<I"), take("<Q")))
    data_start = o[0] + ((-o[0]) % 32)
    tensors = []
    for i, (name, dims, t, off) in enumerate(infos):
        end = infos[i + 1][3] if i + 1 < len(infos) else len(b) - data_start
        tensors.append((name, dims, t, b[data_start + off:data_start + end]))
    return kvs, tensors


def f32s(values):
    return struct.pack("<%df" % len(values), *values)


def tiny_llama(vocab=None, n_embd=8, n_ff=16, n_head=2, n_head_kv=1, n_layer=1, extra_kvs=(),
               override=None, f16=False):
    """A tiny but complete llama GGUF (random weights); vocab from stories260K when present."""
    import random
    rnd = random.Random(1234)
    if vocab is None:
        vocab = stories_vocab()
    n_vocab = len(vocab[0])
    kvs = [("general.architecture", STR, "llama"), ("general.name", STR, "tiny"),
           ("llama.context_length", U32, 64), ("llama.embedding_length", U32, n_embd),
           ("llama.feed_forward_length", U32, n_ff), ("llama.attention.head_count", U32, n_head),
           ("llama.attention.head_count_kv", U32, n_head_kv), ("llama.block_count", U32, n_layer),
           ("llama.rope.dimension_count", U32, n_embd // n_head),
           ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
           ("tokenizer.ggml.model", STR, "llama"), ("tokenizer.ggml.tokens", ARR, (STR, vocab[0])),
           ("tokenizer.ggml.scores", ARR, (F32, vocab[1])),
           ("tokenizer.ggml.token_type", ARR, (I32, vocab[2])),
           ("tokenizer.ggml.bos_token_id", U32, 1), ("tokenizer.ggml.eos_token_id", U32, 2),
           ("tokenizer.ggml.unknown_token_id", U32, 0)]
    kvs += list(extra_kvs)
    if override:
        kvs = [(k, t, override.get(k, v)) for k, t, v in kvs]
    hd = n_embd // n_head

    def w(*dims):
        n = 1
        for d in dims:
            n *= d
        vals = [rnd.uniform(-0.5, 0.5) for _ in range(n)]
        if f16 and len(dims) == 2:
            return (list(dims), GGML_F16, struct.pack("<%de" % n, *vals))
        return (list(dims), GGML_F32, f32s(vals))

    tensors = [("token_embd.weight",) + w(n_embd, n_vocab), ("output_norm.weight",) + w(n_embd),
               ("output.weight",) + w(n_embd, n_vocab)]
    for i in range(n_layer):
        p = "blk.%d." % i
        tensors += [(p + "attn_norm.weight",) + w(n_embd), (p + "attn_q.weight",) + w(n_embd, n_embd),
                    (p + "attn_k.weight",) + w(n_embd, n_head_kv * hd),
                    (p + "attn_v.weight",) + w(n_embd, n_head_kv * hd),
                    (p + "attn_output.weight",) + w(n_embd, n_embd),
                    (p + "ffn_norm.weight",) + w(n_embd), (p + "ffn_gate.weight",) + w(n_embd, n_ff),
                    (p + "ffn_down.weight",) + w(n_ff, n_embd), (p + "ffn_up.weight",) + w(n_embd, n_ff)]
    return kvs, tensors


_STORIES_VOCAB = None


def stories_vocab():
    global _STORIES_VOCAB
    if _STORIES_VOCAB is None:
        path = os.path.join(FIXTURES, "stories260K", "stories260K.gguf")
        if os.path.exists(path):
            kv = {k: v for k, t, v in read_gguf(path)[0]}
            _STORIES_VOCAB = (kv["tokenizer.ggml.tokens"][1], kv["tokenizer.ggml.scores"][1],
                              kv["tokenizer.ggml.token_type"][1])
        else:  # a small stand-in: control tokens, byte tokens, letters
            toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)] + list("abcde")
            types = [2, 3, 3] + [6] * 256 + [1] * 5
            _STORIES_VOCAB = (toks, [0.0] * 259 + [-float(i) for i in range(5)], types)
    return _STORIES_VOCAB


def shrink_vocab_gguf(path, keep):
    """A vocab-only fixture GGUF with its token arrays cut to `keep` tokens (plus the special
    tokens it names, renumbered) and merges to those over kept tokens."""
    kvs, _ = read_gguf(path)
    kv = {k: (t, v) for k, t, v in kvs}
    tokens = kv["tokenizer.ggml.tokens"][1][1]
    ids = list(range(min(keep, len(tokens))))
    for k, (t, v) in kv.items():
        if k.startswith("tokenizer.ggml.") and k.endswith("_token_id") and isinstance(v, int):
            if 0 <= v < len(tokens) and v not in ids:
                ids.append(v)
    remap = {old: new for new, old in enumerate(ids)}
    kept = set(tokens[i] for i in ids)
    out = []
    for k, t, v in kvs:
        if t == ARR and k in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                              "tokenizer.ggml.token_type"):
            v = (v[0], [v[1][i] for i in ids])
        elif t == ARR and k == "tokenizer.ggml.merges":
            v = (v[0], [m for m in v[1] if len(m.split(" ")) == 2 and all(
                p in kept for p in m.split(" ")) and m.replace(" ", "") in kept])
        elif k.startswith("tokenizer.ggml.") and k.endswith("_token_id") and v in remap:
            v = remap[v]
        out.append((k, t, v))
    return gguf(out, [])


# ---- safetensors / config.json ---------------------------------------------------------------
def safetensors(header, data=b"", header_len=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if header_len is None else header_len) + h + data


def small_safetensors():
    a = f32s([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    b = struct.pack("<4e", 1.0, -2.0, 0.5, 0.25)
    header = {"__metadata__": {"format": "pt"},
              "model.embed_tokens.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
              "model.norm.weight": {"dtype": "F16", "shape": [4], "data_offsets": [24, 32]}}
    return safetensors(header, a + b)


def hf_fuzz_input(config, shard, index=b""):
    """The safetensors_hf fuzzer's input layout: [u16 n][config][u16 m][index][shard]."""
    config = config if isinstance(config, bytes) else json.dumps(config).encode()
    return struct.pack("<H", len(config)) + config + struct.pack("<H", len(index)) + index + shard


# ---- SentencePiece .model (protobuf) ---------------------------------------------------------
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_varint(b, o):
    n, shift = 0, 0
    while True:
        c = b[o]
        o += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, o


def pb_field(num, wire, payload):
    if wire == 0:
        return varint(num << 3) + varint(payload)
    if wire == 2:
        return varint(num << 3 | 2) + varint(len(payload)) + payload
    if wire == 5:
        return varint(num << 3 | 5) + payload
    raise ValueError(wire)


def spm_piece(piece, score, ptype=1):
    return pb_field(1, 2, piece.encode()) + pb_field(2, 5, struct.pack("<f", score)) + pb_field(3, 0, ptype)


def shrink_spm_model(path, keep):
    """A real .model with only its first `keep` pieces (field 1 of ModelProto); other fields kept."""
    b = open(path, "rb").read()
    o, out, pieces = 0, b"", 0
    while o < len(b):
        start = o
        key, o = read_varint(b, o)
        wire = key & 7
        if wire == 0:
            _, o = read_varint(b, o)
        elif wire == 2:
            n, o = read_varint(b, o)
            o += n
        elif wire == 5:
            o += 4
        elif wire == 1:
            o += 8
        if key >> 3 == 1:
            pieces += 1
            if pieces > keep:
                continue
        out += b[start:o]
    return out


def small_spm_model(extra_pieces=b"", model_type=2):
    """A hand-made BPE .model: <unk>, <s>, </s>, 256 byte pieces, a few merges' pieces."""
    pieces = spm_piece("<unk>", 0, 2) + spm_piece("<s>", 0, 3) + spm_piece("</s>", 0, 3)
    for i in range(256):
        pieces += spm_piece("<0x%02X>" % i, 0, 6)
    for i, p in enumerate(["\u2581", "\u2581t", "he", "\u2581the", "l", "o", "lo", "\u2581hel"]):
        pieces += spm_piece(p, -float(i), 1)
    trainer = pb_field(3, 0, model_type) + pb_field(35, 0, 1)  # model_type, byte_fallback
    normalizer = pb_field(1, 2, b"identity") + pb_field(3, 0, 1) + pb_field(4, 0, 0)
    return pieces + extra_pieces + pb_field(2, 2, trainer) + pb_field(3, 2, normalizer)


# ---- tokenizer.json --------------------------------------------------------------------------
def shrink_tokenizer_json(path, keep):
    """A real tokenizer.json with its vocabulary cut to `keep` tokens (plus every one-character
    token, so byte-level alphabets stay complete), renumbered; merges over kept tokens; added
    tokens renumbered after them."""
    j = json.load(open(path, encoding="utf-8"))
    m = j["model"]
    if m.get("type") != "BPE":
        return None
    vocab = m["vocab"]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    kept = [t for t, i in by_id if i < keep or len(t) == 1]
    kept_set = set(kept)
    new_vocab = {t: i for i, t in enumerate(kept)}
    merges = []
    for mg in m.get("merges", []):
        a, b = mg.split(" ", 1) if isinstance(mg, str) else mg
        if a in kept_set and b in kept_set and a + b in kept_set:
            merges.append(mg)
    m["vocab"], m["merges"] = new_vocab, merges
    next_id = len(new_vocab)
    for t in j.get("added_tokens", []):
        if t["content"] in new_vocab:
            t["id"] = new_vocab[t["content"]]
        else:
            t["id"] = next_id
            next_id += 1
    j["added_tokens"] = [t for t in j.get("added_tokens", []) if t["id"] < len(new_vocab) + 40]
    pp = j.get("post_processor")
    if isinstance(pp, dict):
        for spec in pp.get("special_tokens", {}).values():
            spec["ids"] = [new_vocab.get(tok, 0) for tok in spec.get("tokens", [])]
        for p in pp.get("processors", []) or []:
            for spec in p.get("special_tokens", {}).values():
                spec["ids"] = [new_vocab.get(tok, 0) for tok in spec.get("tokens", [])]
    return json.dumps(j, ensure_ascii=False).encode()


def minimal_tokenizer_json(**changes):
    j = {"version": "1.0", "truncation": None, "padding": None,
         "added_tokens": [{"id": 5, "content": "<s>", "single_word": False, "lstrip": False,
                           "rstrip": False, "normalized": False, "special": True}],
         "normalizer": None,
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                           "use_regex": True},
         "post_processor": None,
         "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                     "use_regex": True},
         "model": {"type": "BPE", "dropout": None, "unk_token": None,
                   "continuing_subword_prefix": None, "end_of_word_suffix": None,
                   "fuse_unk": False, "byte_fallback": False,
                   "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4},
                   "merges": ["a b", "\u0120 ab"]}}
    for path, value in changes.items():
        node = j
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return json.dumps(j).encode()


# ---- the regression corpus -------------------------------------------------------------------
def regression(out):
    os.makedirs(out, exist_ok=True)
    manifest = []

    def add(name, data, loader, expect):
        path = os.path.join(out, name)
        if isinstance(data, dict):  # a folder: file name -> bytes
            os.makedirs(path, exist_ok=True)
            for fname, content in data.items():
                with open(os.path.join(path, fname), "wb") as f:
                    f.write(content)
        else:
            with open(path, "wb") as f:
                f.write(data)
        manifest.append((name, loader, expect))

    model_kvs, model_tensors = tiny_llama()
    good = gguf(model_kvs, model_tensors)

    # -- GGUF: integer overflow of counts/sizes -> heap overflow (CVE-2025-53630 class) --
    add("gguf_tensor_count_overflow.gguf", gguf(model_kvs, [], n_tensors=(1 << 64) // 8 + 1),
        "gguf_model", "tensor count")
    add("gguf_tensor_count_max.gguf", gguf(model_kvs, [], n_tensors=(1 << 64) - 1),
        "gguf_model", "tensor count")
    add("gguf_kv_count_overflow.gguf", gguf([], [], n_kv=(1 << 61) + 3), "gguf_model",
        "kv count")
    # the bypass variant (CVE-2026-27940 class): each count alone passes a per-count check, but
    # their combined size (or a size computed from both) does not fit
    rem = len(gguf(model_kvs[:1], [])) - 24
    add("gguf_counts_sum_bypass.gguf", gguf(model_kvs[:1], [], n_tensors=rem // 32,
                                            n_kv=rem // 14), "gguf_model", "need at least")
    # element count overflows int64 to a small number: [2^32, 2^32] x F32
    add("gguf_dims_product_overflow.gguf",
        gguf(model_kvs, [("t", [1 << 32, 1 << 32], GGML_F32, b"\0" * 32)]), "gguf_model",
        "overflows")
    add("gguf_bytes_overflow.gguf",
        gguf(model_kvs, [("t", [1 << 62, 2], GGML_F32, b"\0" * 32)]), "gguf_model", "overflow")
    # -- tensor dims lie about the data size / out-of-file offsets (Ollama CVE-2026-7482 class) --
    add("gguf_dims_lie_about_size.gguf",
        gguf(model_kvs, [("token_embd.weight", [4096, 4096], GGML_F32, b"\0" * 64)]),
        "gguf_model", "past end of file")
    t = list(model_tensors)
    name, dims, ttype, blob = t[0]
    t[0] = (name, [dims[0], dims[1] * 1000], ttype, blob)
    add("gguf_real_tensor_dims_lie.gguf", gguf(model_kvs, t), "gguf_model", "past end of file")
    data = bytearray(good)
    # the last tensor info's offset field: make it point past the end of the file
    off_pos = good.find(gstr("blk.0.ffn_up.weight")) + len(gstr("blk.0.ffn_up.weight")) + 4 + 16 + 4
    struct.pack_into("<Q", data, off_pos, (1 << 64) - 32)
    add("gguf_offset_wraps.gguf", bytes(data), "gguf_model", "past end of file")
    struct.pack_into("<Q", data, off_pos, 1 << 40)
    add("gguf_offset_out_of_file.gguf", bytes(data), "gguf_model", "past end of file")
    add("gguf_truncated_data.gguf", good[:len(good) - 100], "gguf_model", "past end of file")
    # -- n_dims > max (writes past a fixed dims array) --
    raw = gstr("t") + struct.pack("<I", 9) + struct.pack("<9Q", *([1] * 9)) + struct.pack("<IQ", 0, 0)
    bad = b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + raw + b"\0" * 64
    add("gguf_n_dims_9.gguf", bad, "gguf_model", "n_dims 9 out of range")
    raw = gstr("t") + struct.pack("<I", 0xFFFFFFFF) + b"\0" * 64
    add("gguf_n_dims_huge.gguf", b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + raw, "gguf_model",
        "out of range")
    # -- ne = 0 / zero dims (division by zero) and block-size remainders --
    add("gguf_zero_dim.gguf", gguf(model_kvs, [("t", [0, 4], GGML_F32, b"")]), "gguf_model",
        "is 0")
    add("gguf_q8_0_row_not_block_multiple.gguf",
        gguf(model_kvs, [("t", [33, 1], GGML_Q8_0, b"\0" * 68)]), "gguf_model",
        "not a multiple of the block size")
    add("gguf_alignment_zero.gguf", gguf(model_kvs + [("general.alignment", U32, 0)], model_tensors),
        "gguf_model", "alignment 0")
    add("gguf_alignment_not_pow2.gguf",
        gguf(model_kvs + [("general.alignment", U32, 24)], model_tensors), "gguf_model",
        "power of two")
    add("gguf_head_count_zero.gguf", gguf(*tiny_llama(override={"llama.attention.head_count": 0})),
        "gguf_model", "head_count")
    add("gguf_head_count_kv_zero.gguf",
        gguf(*tiny_llama(override={"llama.attention.head_count_kv": 0})), "gguf_model",
        "head_count_kv")
    add("gguf_embedding_length_zero.gguf",
        gguf(*tiny_llama(override={"llama.embedding_length": 0})), "gguf_model",
        "embedding_length")
    # -- huge string / array lengths --
    raw = gstr("general.name") + struct.pack("<IQ", STR, (1 << 64) - 1) + b"abc"
    add("gguf_string_length_huge.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + raw + b"\0" * 16,
        "gguf_model", "general.name")
    raw = struct.pack("<Q", (1 << 63) + 5) + b"key" + b"\0" * 32
    add("gguf_key_length_huge.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + raw, "gguf_model",
        "key of kv 0")
    raw = gstr("tokenizer.ggml.tokens") + struct.pack("<IIQ", ARR, STR, (1 << 62)) + b"\0" * 64
    add("gguf_array_length_huge.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + raw, "gguf_model",
        "array length")
    raw = gstr("x") + struct.pack("<IIQ", ARR, U64, (1 << 61) + 1) + b"\0" * 64
    add("gguf_array_bytes_overflow.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + raw,
        "gguf_model", "array length")
    # 2^24 + 1 one-byte elements: the file is 16 MiB, the parsed values would be ~800 MiB
    n = (1 << 24) + 1
    raw = gstr("x") + struct.pack("<IIQ", ARR, U8, n) + b"\1" * n
    add("gguf_array_memory_amplification.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + raw,
        "gguf_model", "limit")
    nested = struct.pack("<I", ARR)
    for _ in range(100):
        nested += struct.pack("<IQ", ARR, 1)
    add("gguf_array_nesting_deep.gguf",
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("x") + nested + b"\0" * 64, "gguf_model",
        "nested deeper")
    add("gguf_value_type_unknown.gguf",
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("x") + struct.pack("<I", 13) + b"\0" * 64,
        "gguf_model", "unknown value type")
    add("gguf_tensor_type_unknown.gguf", gguf(model_kvs, [("t", [4], 99, b"\0" * 32)]),
        "gguf_model", "unknown tensor type")
    add("gguf_duplicate_key.gguf", gguf(model_kvs + [model_kvs[0]], model_tensors), "gguf_model",
        "duplicate key")
    add("gguf_duplicate_tensor.gguf", gguf(model_kvs, model_tensors + [model_tensors[0]]),
        "gguf_model", "duplicate tensor")
    add("gguf_version_1.gguf", b"GGUF" + struct.pack("<IQQ", 1, 0, 0), "gguf_model", "version 1")
    add("gguf_bad_magic.gguf", b"GGML" + good[4:], "gguf_model", "magic")
    add("gguf_empty.gguf", b"", "gguf_model", "too small")
    # -- tokenizer metadata that lies (ids and array lengths) --
    toks, scores, types = stories_vocab()
    add("gguf_scores_shorter_than_tokens.gguf",
        gguf(*tiny_llama(override={"tokenizer.ggml.scores": (F32, scores[:10])})), "gguf_tokenizer",
        "scores")
    add("gguf_bos_id_out_of_range.gguf",
        gguf(*tiny_llama(override={"tokenizer.ggml.bos_token_id": 0x7FFFFFFF})), "gguf_tokenizer",
        "bos")
    add("gguf_token_type_shorter_than_tokens.gguf",
        gguf(*tiny_llama(override={"tokenizer.ggml.token_type": (I32, types[:7])})),
        "gguf_tokenizer", "token_type")
    gpt2 = [("general.architecture", STR, "llama"), ("tokenizer.ggml.model", STR, "gpt2"),
            ("tokenizer.ggml.tokens", ARR, (STR, ["a", "b", "ab"])),
            ("tokenizer.ggml.merges", ARR, (STR, ["a b", "x y", "ab"]))]
    add("gguf_merges_unknown_tokens.gguf", gguf(gpt2, []), "gguf_tokenizer", "merge")

    # -- safetensors --
    st = small_safetensors()
    add("st_header_len_huge.safetensors", safetensors({}, b"", header_len=(1 << 64) - 1),
        "safetensors", "header")
    add("st_header_len_beyond_file.safetensors", safetensors({}, b"", header_len=1 << 20),
        "safetensors", "header")
    add("st_offsets_out_of_file.safetensors",
        safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 1 << 40]}}, b"\0" * 8),
        "safetensors", "w")
    add("st_offsets_reversed.safetensors",
        safetensors({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}, b"\0" * 8),
        "safetensors", "w")
    add("st_shape_lies_about_size.safetensors",
        safetensors({"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 8]}},
                    b"\0" * 8), "safetensors", "w")
    add("st_shape_product_overflow.safetensors",
        safetensors({"w": {"dtype": "F32", "shape": [1 << 32, 1 << 32, 16], "data_offsets": [0, 0]}}),
        "safetensors", "w")
    add("st_negative_dim.safetensors",
        safetensors({"w": {"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}}, b"\0" * 8),
        "safetensors", "w")
    add("st_dtype_unknown.safetensors",
        safetensors({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, b"\0" * 16),
        "safetensors", "F128")
    add("st_json_nesting_deep.safetensors", safetensors(b"[" * 100000 + b"]" * 100000),
        "safetensors", "nested deeper")
    add("st_duplicate_key.safetensors",
        safetensors(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                    b'"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
        "safetensors", "duplicate")
    add("st_invalid_utf8.safetensors", safetensors(b'{"w\xff":1}'), "safetensors", "UTF-8")
    add("st_overlapping_tensors.safetensors",
        safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12),
        "safetensors", "overlap")
    # -- config.json of a Hugging Face folder (DeepSeek) --
    v3 = os.path.join(FIXTURES, "deepseek", "v3-tiny", "config.json")
    base = json.load(open(v3)) if os.path.exists(v3) else {"model_type": "deepseek_v3"}

    def folder(**cfg):
        c = dict(base)
        c.update(cfg)
        return {"config.json": json.dumps(c).encode(), "model.safetensors": st}

    add("hf_config_deep_nesting", {"config.json": b"[" * 50000 + b"]" * 50000,
                                   "model.safetensors": st}, "hf_model", "nested deeper")
    add("hf_config_not_object", {"config.json": b"[1,2]", "model.safetensors": st}, "hf_model",
        "object")
    add("hf_config_layers_huge", folder(num_hidden_layers=1 << 40), "hf_model", "num_hidden_layers")
    add("hf_config_experts_huge", folder(n_routed_experts=1 << 31), "hf_model", "n_routed_experts")
    add("hf_config_heads_zero", folder(num_attention_heads=0), "hf_model", "num_attention_heads")
    add("hf_config_hidden_size_negative", folder(hidden_size=-64), "hf_model", "hidden_size")
    add("hf_index_shard_escapes_folder",
        {"config.json": json.dumps(base).encode(),
         "model.safetensors.index.json": json.dumps(
             {"weight_map": {"w": "../../../../etc/passwd"}}).encode()}, "hf_model", "passwd")

    # -- tokenizer.json --
    add("tokjson_deep_nesting.json", b'{"model":' + b"[" * 100000 + b"]" * 100000 + b"}",
        "tokenizer", "nested deeper")
    add("tokjson_vocab_id_huge.json",
        minimal_tokenizer_json(**{"model.vocab": {"a": 0, "b": 0x7FFFFFFF}}), "tokenizer", "id")
    add("tokjson_vocab_id_sparse_amplification.json",
        minimal_tokenizer_json(**{"model.vocab": {"a": 0, "b": (1 << 24) - 1}}), "tokenizer",
        "dense")
    add("tokjson_added_id_sparse_amplification.json",
        minimal_tokenizer_json(added_tokens=[{"id": (1 << 24) - 2, "content": "<x>",
                                              "special": True}]), "tokenizer", "dense")
    add("tokjson_vocab_id_negative.json",
        minimal_tokenizer_json(**{"model.vocab": {"a": 0, "b": -5}}), "tokenizer", "id")
    add("tokjson_added_token_id_huge.json",
        minimal_tokenizer_json(added_tokens=[{"id": 2000000000, "content": "<x>", "special": True}]),
        "tokenizer", "id")
    add("tokjson_merge_unknown_token.json",
        minimal_tokenizer_json(**{"model.merges": ["a zz"]}), "tokenizer", "merge")
    add("tokjson_bad_regex.json",
        minimal_tokenizer_json(pre_tokenizer={"type": "Split", "pattern": {"Regex": "(((("},
                                              "behavior": "Isolated", "invert": False}),
        "tokenizer", "regex")
    add("tokjson_unknown_model.json", minimal_tokenizer_json(**{"model.type": "Quantum"}),
        "tokenizer", "Quantum")
    add("tokjson_truncated.json", minimal_tokenizer_json()[:-40], "tokenizer", "JSON")
    add("tokjson_not_utf8.json", b'{"model": "\xff\xfe"}', "tokenizer", "UTF-8")

    # -- SentencePiece .model --
    add("spm_truncated.model", small_spm_model()[:-7], "tokenizer", "model")
    add("spm_piece_length_huge.model",
        varint(1 << 3 | 2) + varint((1 << 62)) + b"\0" * 16, "tokenizer", "model")
    add("spm_no_pieces.model", pb_field(2, 2, pb_field(3, 0, 2)), "tokenizer", "piece")
    add("spm_piece_type_unknown.model", small_spm_model(spm_piece("zz", -1, 77)), "tokenizer",
        "SentencePiece")
    add("spm_unknown_model_type.model", small_spm_model(model_type=9), "tokenizer", "model")

    # -- chat templates (rendered with two messages) --
    add("tmpl_nesting_deep.jinja", b"{% if true %}" * 5000 + b"x" + b"{% endif %}" * 5000,
        "chat_template", "deep")
    add("tmpl_expression_nesting_deep.jinja", b"{{ " + b"(" * 100000 + b"1" + b")" * 100000 + b" }}",
        "chat_template", "deep")
    add("tmpl_macro_recursion.jinja", b"{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        "chat_template", "nested deeper")
    add("tmpl_string_repeat_huge.jinja", b"{{ 'abc' * 1000000000 }}", "chat_template", "too large")
    add("tmpl_range_huge.jinja", b"{% for i in range(1000000000000) %}x{% endfor %}",
        "chat_template", "limit")
    add("tmpl_nested_loops_steps.jinja",
        b"{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
        "chat_template", "loop iterations")
    add("tmpl_output_doubling.jinja",
        b"{% set s = namespace(x='ab') %}{% for i in range(64) %}{% set s.x = s.x + s.x %}"
        b"{% endfor %}{{ s.x }}", "chat_template", "too large")
    add("tmpl_unterminated.jinja", b"{% for m in messages %}{{ m.content", "chat_template", "line")

    with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
        f.write("# file\tloader\terror must contain (case-insensitive)\n")
        for row in manifest:
            f.write("\t".join(row) + "\n")
    return len(manifest)


# ---- seed corpora ----------------------------------------------------------------------------
def seeds(out):
    def put(target, name, data):
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    def link(target, name, rel):
        src = os.path.join(FIXTURES, rel)
        if not os.path.exists(src):
            return
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        dst = os.path.join(d, name)
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(src, dst)

    # GGUF: tiny complete models (F32 and F16 weights), shrunken vocab-only fixtures, a few odd
    # but valid files; the real stories260K model by reference.
    kvs, tensors = tiny_llama()
    put("gguf", "tiny_llama_f32.gguf", gguf(kvs, tensors))
    put("gguf", "tiny_llama_f16.gguf", gguf(*tiny_llama(f16=True, n_embd=16, n_ff=32)))
    put("gguf", "tiny_llama_2layers_gqa.gguf", gguf(*tiny_llama(n_layer=2, n_head=4, n_head_kv=2,
                                                                  n_embd=16)))
    put("gguf", "nested_arrays_v2.gguf",
        gguf([("a", ARR, (ARR, [(U8, [1, 2]), (U8, [3])])), ("b", STR, "x"), ("c", F64, 1.5),
              ("d", BOOL, 1), ("e", I64, -7), ("general.alignment", U32, 64)],
             [("t", [4], GGML_F32, f32s([1, 2, 3, 4])), ("q", [32], GGML_Q8_0, b"\0" * 34)],
             version=2, alignment=64))
    for fname in ("ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf",
                  "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-deepseek-coder.gguf"):
        path = os.path.join(FIXTURES, "vocab", fname)
        if os.path.exists(path):
            put("gguf", "small-" + fname, shrink_vocab_gguf(path, 400))
    link("gguf", "stories260K.gguf", "stories260K/stories260K.gguf")
    # tokenizer.json: shrunken real files (with their tokenizer_config.json after "\0\0"), a
    # minimal one.
    for name in ("deepseek-v3", "qwen3", "llama3", "mistral-7b-v0.1"):
        path = os.path.join(FIXTURES, "tokenizers", name, "tokenizer.json")
        if not os.path.exists(path):
            continue
        small = shrink_tokenizer_json(path, 600)
        if small is None:
            continue
        put("tokenizer_json", name + ".json", small)
        cfg = os.path.join(FIXTURES, "tokenizers", name, "tokenizer_config.json")
        if os.path.exists(cfg):
            put("tokenizer_json", name + "+config.json", small + b"\0\0" + open(cfg, "rb").read())
    put("tokenizer_json", "minimal.json", minimal_tokenizer_json())
    # SentencePiece .model: shrunken real models, a hand-made one.
    for name in ("llama2", "albert-unigram-spm"):
        path = os.path.join(FIXTURES, "tokenizers", name, "tokenizer.model")
        if os.path.exists(path):
            put("spm_model", name + "-small.model", shrink_spm_model(path, 400))
    put("spm_model", "handmade.model", small_spm_model())
    # Chat templates: every fixture template with a few contents; hand-written ones.
    contents = [b"Hello <think>hmm</think> there", b"", b"{{ x }} {% raw %}\xe4\xbd\xa0"]
    n = 0
    for name in sorted(os.listdir(os.path.join(FIXTURES, "tokenizers"))) if os.path.isdir(
            os.path.join(FIXTURES, "tokenizers")) else []:
        cfg = os.path.join(FIXTURES, "tokenizers", name, "tokenizer_config.json")
        if not os.path.exists(cfg):
            continue
        tmpl = json.load(open(cfg, encoding="utf-8")).get("chat_template")
        if not isinstance(tmpl, str):
            continue
        for i, c in enumerate(contents):
            put("chat_template", "%s-%d" % (name, i), bytes([i & 1]) + tmpl.encode() + b"\0\0" + c)
        msgs = json.dumps([{"role": "user", "content": "hi"},
                           {"role": "assistant", "content": "", "reasoning_content": "r",
                            "tool_calls": [{"type": "function", "function": {
                                "name": "f", "arguments": "{\"a\": 1}"}}]},
                           {"role": "tool", "content": "42"}]).encode()
        put("chat_template", name + "-raw", bytes([3]) + tmpl.encode() + b"\0\0" + msgs)
        n += 1
    hand = [b"{% for m in messages %}{{ m.role | upper }}: {{ m.content | trim }}\n{% endfor %}"
            b"{% if add_generation_prompt %}ASSISTANT:{% endif %}",
            b"{% macro f(x) %}{{ x ~ '!' }}{% endmacro %}{% set ns = namespace(a=1) %}"
            b"{% for i in range(3) %}{% set ns.a = ns.a * 2 %}{{ f(i) }}{{ loop.index }}{% endfor %}"
            b"{{ ns.a }}{{ messages | length }}{{ 'a,b' .split(',') | join('-') }}",
            b"{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{{ messages[0]['content'] }}"
            b"{%- else -%}{{ raise_exception('no system') }}{%- endif -%}{{ tools | tojson }}"]
    for i, t in enumerate(hand):
        put("chat_template", "hand-%d" % i, bytes([i]) + t + b"\0\0" + contents[0])
    # tokenizer_encode: texts (first byte: tokenizer choice and options).
    texts = [b"Hello world! 123", " \u4f60\u597d\uff0c\u4e16\u754c".encode(), b"<s> </s> <|im_start|>",
             b"\xff\xfe\xc3(", b"  \t\n\n  tabs and spaces  ", "\U0001F600 emoji \u00e9\u0301".encode()]
    for sel in range(8):
        for i, t in enumerate(texts):
            put("tokenizer_encode", "t%d-%d" % (sel, i), bytes([sel | (i % 4) << 3]) + t)
    # safetensors + config.json: shrunken fixture configs with a small shard, and the real
    # checkpoints by reference are too large; small hand-made shards instead.
    st = small_safetensors()
    for name in ("v3-tiny", "v2-lite-tiny", "v3-tiny-fp8"):
        cfg = os.path.join(FIXTURES, "deepseek", name, "config.json")
        if os.path.exists(cfg):
            put("safetensors_hf", name, hf_fuzz_input(open(cfg, "rb").read(), st))
            idx = json.dumps({"metadata": {}, "weight_map": {
                "model.embed_tokens.weight": "model-00001-of-00001.safetensors",
                "model.norm.weight": "model-00001-of-00001.safetensors"}}).encode()
            put("safetensors_hf", name + "-sharded", hf_fuzz_input(open(cfg, "rb").read(), st, idx))
    put("safetensors_hf", "empty-config", hf_fuzz_input(b"{}", st))
    # gguf_model: the same seeds as gguf.
    for f in os.listdir(os.path.join(out, "gguf")):
        src = os.path.join(out, "gguf", f)
        d = os.path.join(out, "gguf_model")
        os.makedirs(d, exist_ok=True)
        dst = os.path.join(d, f)
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(os.path.realpath(src), dst)
    # session_state seeds are written by the fuzzer's own helper (they need a real model's
    # fingerprint): fuzz_session_state -seed_dir (see docs/SECURITY.md).
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--regression", help="write the regression corpus here")
    ap.add_argument("--seeds", help="write the fuzzers' seed corpora here")
    args = ap.parse_args()
    if not args.regression and not args.seeds:
        ap.error("nothing to do")
    if args.regression:
        n = regression(args.regression)
        print("regression corpus: %d files in %s" % (n, args.regression))
    if args.seeds:
        seeds(args.seeds)
        print("seed corpora in %s" % args.seeds)


if __name__ == "__main__":
    sys.exit(main())
