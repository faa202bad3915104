#!/usr/bin/env python3
"""Writes a copy of an n2spd safetensors model without its Adam state (…/Adam, …/Adam_1, beta1_power,
beta2_power): weights, batch-norm statistics, global_step and metadata stay. Used for the bundled default
model so that the 32-filter file stays ≈ 2.5 MB instead of 7.5 MB; fine-tuning then starts a fresh Adam.

    python3 scripts/strip-optimizer-state.py IN.safetensors OUT.safetensors

Standard library only.
"""
import json
import re
import struct
import sys

OPTIMIZER = re.compile(r"(/Adam(_1)?|^beta[12]_power)$")


def main(source, target):
    with open(source, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out_header, chunks, offset = {}, [], 0
    for name, entry in header.items():
        if name == "__metadata__":
            out_header[name] = entry
            continue
        if OPTIMIZER.search(name):
            continue
        start, end = entry["data_offsets"]
        chunks.append(data[start:end])
        out_header[name] = dict(entry, data_offsets=[offset, offset + end - start])
        offset += end - start
    raw = json.dumps(out_header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # keep the data 8-byte aligned
    with open(target, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for chunk in chunks:
            f.write(chunk)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
