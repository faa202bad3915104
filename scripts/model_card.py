#!/usr/bin/env python3
"""Writes models/default.json: config, training log, provenance and scores of the bundled default model.

    python3 scripts/model_card.py MODEL RUN_DIR OUT.json [SET/INPUT=eval.json …]

MODEL is the shipped safetensors file, RUN_DIR the folder of scripts/train-default-model.sh (train.log,
git-commit.txt, started.txt, finished.txt), and each SET/INPUT=eval.json an `n2sp eval --json` report
(e.g. BSD68/f32=bsd68.json). Standard library only.
"""
import datetime
import hashlib
import json
import os
import re
import struct
import sys

ANCHORS = {  # shared/data/README.md (psnr.py, raw = unclipped output) and the papers
    "BSD68/f32": {"noisy input": 20.173, "NLM": 27.824, "BM3D": 28.606,
                  "Noise2Same paper (80k GPU steps, 96 filters)": 27.95, "Noise2SamePro seed README": 27.10},
    "BSD68/png": {"noisy input": 20.480, "NLM": 27.657, "BM3D": 28.365},
    "Set12/f32": {"noisy input": 20.166, "NLM": 28.844, "BM3D": 29.975},
    "Set12/png": {"noisy input": 20.333, "NLM": 28.883, "BM3D": 29.964},
}


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def global_step(path, h):
    entry = h.get("global_step")
    if not entry:
        return None
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        f.seek(8 + n + entry["data_offsets"][0])
        return struct.unpack("<q", f.read(8))[0]


def shipped_phase(plan, step):
    """Which point of the plan the shipped file is: the end of the run, or the end of its Noise2Same phase."""
    total, pro = plan.get("totalSteps"), plan.get("proSteps", 0)
    if step is None or total is None:
        return None
    if pro and step == total - pro:
        return (f"step {step}: the end of the Noise2Same phase (--keep-phase-one), before the {pro} Noise2SamePro "
                "steps; the log below continues through that phase, which lowered PSNR (docs/results.md)")
    if step == total:
        return f"step {step}: the end of the run"
    return f"step {step} of {total}"


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def main(argv):
    model, run, out = argv[1], argv[2], argv[3]
    h = header(model)
    meta = h.get("__metadata__", {})
    plan = json.loads(meta.get("training.plan", "{}"))
    arch = json.loads(meta.get("architecture", "{}"))
    tensors = {k: v for k, v in h.items() if k != "__metadata__"}
    weights = {k: v for k, v in tensors.items() if not re.search(r"/Adam(_1)?$|_power$|global_step", k)}
    count = lambda ts: sum(int(__import__("math").prod(v["shape"])) for v in ts.values())
    log = []
    for line in (read(os.path.join(run, "train.log"), "") or "").splitlines():
        m = re.match(r"step (\d+)/(\d+)\s+(N2SP|N2S)\s+loss ([\d.]+)\s+rec ([\d.]+)\s+inv ([\d.]+)\s+bsp ([\d.]+)\s+([\d.]+) steps/s", line)
        if m:
            log.append({"step": int(m[1]), "loss_kind": m[3], "loss": float(m[4]), "rec": float(m[5]),
                        "inv": float(m[6]), "bsp": float(m[7]), "steps_per_s": float(m[8])})
    started, finished = read(os.path.join(run, "started.txt")), read(os.path.join(run, "finished.txt"))
    duration = None
    if started and finished:
        p = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
        duration = (p(finished) - p(started)).total_seconds()
    scores = {}
    for arg in argv[4:]:
        key, path = arg.split("=", 1)
        report = json.load(open(path))
        for b in report["budgets"]:
            s = b["score"]
            scores.setdefault(key, []).append({
                "finetune_steps": b["steps"], "images": len(s["images"]), "mean_psnr": round(s["mean_psnr"], 4),
                "mean_psnr_8bit": round(s["mean_psnr_8bit"], 4), "mean_ssim": round(s["mean_ssim"], 4),
                "mean_noisy_psnr": round(s["mean_noisy_psnr"], 4),
                "seconds_per_image": round(s["total_seconds"] / max(len(s["images"]), 1), 3)})
    card = {
        "file": os.path.basename(model),
        "sha256": hashlib.sha256(open(model, "rb").read()).hexdigest(),
        "bytes": os.path.getsize(model),
        "architecture": arch,
        "trainable_parameters": count({k: v for k, v in weights.items() if "moving_" not in k}),
        "contains_adam_state": any(k.endswith("/Adam") for k in tensors),
        "global_step": global_step(model, h),
        "training": {
            "plan": plan,
            "recipe": f"two-phase (reference-model.md §4.2): Noise2Same λ={plan.get('lambda')} {plan.get('masking')} "
                      f"masking, then the last {plan.get('proSteps')} steps Noise2SamePro continuing weights, BN "
                      "statistics, Adam state",
            "shipped_checkpoint": shipped_phase(plan, global_step(model, h)),
            "learning_rate": f"{plan.get('learningRate')} halved every {plan.get('learningRateDecaySteps')} steps "
                             "(reference: 4e-4 halved every 5000 of 80k steps; scaled to the short budget)",
            "data": "shared/data/Train400 (400 gray 180x180) + AWGN sigma 25 from make_noisy.py "
                    "(key '0/Train400/<file>', float32, unclipped), per-image z-score",
            "initialization": meta.get("initialization"),
        },
        "provenance": {
            "git_commit": read(os.path.join(run, "git-commit.txt")),
            "started_utc": started, "finished_utc": finished, "duration_seconds": duration,
            "machine": "2-core AMD EPYC VM shared with other jobs (OpenBLAS, OPENBLAS_CORETYPE=Haswell)",
            "command": "scripts/train-default-model.sh",
        },
        "scores": scores,
        "anchors": ANCHORS,
        "psnr_convention": "psnr.py: data range 255, mean of per-image PSNRs; f32 = unclipped float32 noisy input and "
                           "unclipped output; png = 8-bit noisy input; psnr_8bit = output clipped and rounded",
        "training_log": log,
    }
    with open(out, "w") as f:
        json.dump(card, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
