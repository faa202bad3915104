#!/usr/bin/env python3
"""Checks that a model file written by n2spd is readable by Python's `safetensors` (independent reader).

    pip install safetensors numpy
    scripts/check-safetensors.py model.safetensors [--variables shared/fixtures/tf-ckpt-small/variables.json]

Loads every tensor with `safetensors.numpy.load_file`, reads `__metadata__` with `safe_open`, and checks
the things n2spd promises: TF variable names, F32 everywhere except the I64 scalar `global_step`, the
metadata keys (format, format_version, architecture JSON, normalization). With --variables (a fixture's
variables.json) it also checks that every listed variable is present with its shape, and for tf-ckpt-small
the values quoted in the spec (beta1_power = 0.9^4 as float32, global_step = 3). Exit status 0 = all good.
"""
import argparse
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--variables", help="variables.json listing name/shape/dtype/role")
    args = parser.parse_args()

    tensors = load_file(args.file)
    with safe_open(args.file, framework="numpy") as f:
        metadata = f.metadata() or {}
    problems = []
    for key in ("format", "format_version", "architecture", "normalization"):
        if key not in metadata:
            problems.append(f"__metadata__ lacks '{key}'")
    if "architecture" in metadata:
        arch = json.loads(metadata["architecture"])
        for key in ("depth", "baseFilters", "inputChannels", "encodingBlockSizes", "decodingBlockSizes", "bottomBlockSize"):
            if key not in arch:
                problems.append(f"architecture JSON lacks '{key}'")
    for name, array in tensors.items():
        expected = np.int64 if name == "global_step" else np.float32
        if array.dtype != expected:
            problems.append(f"{name}: dtype {array.dtype}, expected {np.dtype(expected)}")

    if args.variables:
        with open(args.variables) as f:
            listed = json.load(f)
        for variable in listed:
            name = variable["name"]
            if name not in tensors:
                # without --keep-optimizer-state only model variables are stored
                if variable["role"] in ("trainable", "bn_stat"):
                    problems.append(f"missing {name}")
                continue
            if list(tensors[name].shape) != variable["shape"]:
                problems.append(f"{name}: shape {list(tensors[name].shape)}, expected {variable['shape']}")
        if "beta1_power" in tensors and tensors["beta1_power"].tobytes() != bytes.fromhex("2af6273f"):
            problems.append(f"beta1_power = {tensors['beta1_power']!r}, expected float32 bytes 2af6273f (0.6561)")
        if "global_step" in tensors and int(tensors["global_step"]) != 3:
            problems.append(f"global_step = {tensors['global_step']}, expected 3")

    total = sum(a.nbytes for a in tensors.values())
    print(f"{args.file}: {len(tensors)} tensors, {total} bytes, metadata keys {sorted(metadata)}")
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
