#!/usr/bin/env python3
"""Markdown tables for docs/results.md from `scripts/evaluate-model.sh` output.

    python3 scripts/results_tables.py EVAL_DIR
"""
import json
import os
import sys

ANCHORS = {  # shared/data/README.md (psnr.py convention), f32 = unclipped float input
    ("BSD68", "f32"): [("noisy input", 20.173), ("NLM (skimage)", 27.824), ("BM3D", 28.606),
                       ("Noise2Same paper (96 filters, 80k GPU steps)", 27.95), ("Noise2SamePro seed README", 27.10)],
    ("BSD68", "png"): [("noisy input", 20.480), ("NLM (skimage)", 27.657), ("BM3D", 28.365)],
    ("Set12", "f32"): [("noisy input", 20.166), ("NLM (skimage)", 28.844), ("BM3D", 29.975)],
    ("Set12", "png"): [("noisy input", 20.333), ("NLM (skimage)", 28.883), ("BM3D", 29.964)],
}


def main(d):
    print("| set | noisy input | default model PSNR (unclipped) | 8-bit PSNR | SSIM | s / image | anchors (same noisy data) |")
    print("|---|---|---|---|---|---|---|")
    for set_name, kind in [("BSD68", "f32"), ("BSD68", "png"), ("Set12", "f32"), ("Set12", "png")]:
        path = os.path.join(d, f"{set_name.lower()}-{kind}.json")
        if not os.path.exists(path):
            continue
        s = json.load(open(path))["budgets"][0]["score"]
        anchors = ", ".join(f"{n} {v:.2f}" for n, v in ANCHORS[(set_name, kind)][1:])
        label = "float32 (unclipped)" if kind == "f32" else "8-bit PNG"
        print(f"| {set_name} σ=25, {label} | {s['mean_noisy_psnr']:.3f} | **{s['mean_psnr']:.3f}** | {s['mean_psnr_8bit']:.3f} | "
              f"{s['mean_ssim']:.4f} | {s['total_seconds'] / len(s['images']):.2f} | {anchors} |")
    path = os.path.join(d, "bsd68-finetune.json")
    if os.path.exists(path):
        r = json.load(open(path))
        base = r["budgets"][0]["score"]["mean_psnr"]
        n = len(r["budgets"][0]["score"]["images"])
        ft = r.get("finetune") or {}
        print()
        print(f"Transductive fine-tuning on the first {n} BSD68 noisy images (float32), Noise2SamePro, batch "
              f"{ft.get('batch')} × {ft.get('patch')}², constant lr {ft.get('learning_rate')}, cumulative budgets:")
        print()
        print("| fine-tune steps | PSNR (unclipped) | gain | 8-bit PSNR | SSIM | fine-tune time of this increment (s) |")
        print("|---|---|---|---|---|---|")
        for b in r["budgets"]:
            s = b["score"]
            print(f"| {b['steps']} | {s['mean_psnr']:.3f} | {s['mean_psnr'] - base:+.3f} | {s['mean_psnr_8bit']:.3f} | "
                  f"{s['mean_ssim']:.4f} | {b['finetune_seconds']:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1])
