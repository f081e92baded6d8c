"""Minimal safetensors reader/writer (F32, BF16, I32) for the demo model scripts; Debian's
python3-torch has no safetensors package."""
import json
import struct

import numpy as np
import torch

_NP = {"F32": np.float32, "I32": np.int32}


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        if info["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            t = torch.from_numpy(u.view(np.float32).copy())
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=_NP[info["dtype"]]).copy())
        out[name] = t.reshape(info["shape"])
    return out


def to_bf16_bits(t):
    """Round-to-nearest-even float32 -> bfloat16 bits (torch's own conversion)."""
    return t.detach().float().contiguous().to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def write(path, tensors, dtypes, metadata=None):
    """tensors: name -> torch tensor; dtypes: name -> 'BF16' | 'F32' | 'I32'. Names sorted."""
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name]
        dt = dtypes[name]
        if dt == "BF16":
            raw = to_bf16_bits(t).tobytes()
        elif dt == "F32":
            raw = t.detach().float().contiguous().numpy().astype("<f4").tobytes()
        elif dt == "I32":
            raw = t.detach().contiguous().numpy().astype("<i4").tobytes()
        else:
            raise ValueError(dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
