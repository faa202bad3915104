#!/usr/bin/env bash
# TF-CPU vs n2sp bench, interleaved (TF, ours, TF, ours, …) so that both see the same machine load.
# Never part of the product or CI. Usage (from the repo root, after `swift build -c release`):
#   scripts/tf-baseline/setup.sh                 # once: /tmp/tf-venv with tensorflow-cpu 2.15.1
#   scripts/tf-baseline/run.sh [OUT_DIR]         # default /tmp/n2sp-tf-baseline
# Env: N2SP (binary, default .build/release/n2sp), VENV (/tmp/tf-venv), ROUNDS (2), REPEAT (3),
#      CONFIGS (default "infer:256 infer:512 train:4 train:16"; train:B uses 64×64 patches).
# Writes OUT_DIR/results.jsonl (one JSON object per run) and OUT_DIR/summary.md (table with ratios).
set -euo pipefail
OUT="${1:-/tmp/n2sp-tf-baseline}"
N2SP="${N2SP:-.build/release/n2sp}"
VENV="${VENV:-/tmp/tf-venv}"
ROUNDS="${ROUNDS:-2}"
REPEAT="${REPEAT:-3}"
CONFIGS="${CONFIGS:-infer:256 infer:512 train:4 train:16}"
HERE="$(cd "$(dirname "$0")" && pwd)"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"
export TF_CPP_MIN_LOG_LEVEL=2
mkdir -p "$OUT"
: > "$OUT/results.jsonl"

# 1. one random Glorot paper-size model for both sides: safetensors → TF checkpoint
"$N2SP" bench --size 256 --repeat 1 --write-model "$OUT/random.safetensors" \
    --write-input "$OUT/in256.f32" --write-output "$OUT/out256.f32" --json > "$OUT/ours-compare.json"
"$N2SP" export-checkpoint "$OUT/random.safetensors" -o "$OUT/ckpt/model.ckpt-0" --force --weights-only
CKPT="$OUT/ckpt/model.ckpt-0"

# 2. sanity check: the same checkpoint and input through TF
"$VENV/bin/python" "$HERE/tf_model.py" infer --size 256 --repeat 1 --checkpoint "$CKPT" \
    --compare-input "$OUT/in256.f32" --compare-output "$OUT/out256.f32" > "$OUT/tf-compare.json" 2>>"$OUT/tf-stderr.log"
echo "TF vs ours on the same checkpoint and input: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["compare_max_abs_over_max_ref"])' "$OUT/tf-compare.json") (max|Δ|/max|TF|)"

tag() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d.update(side=sys.argv[1], config=sys.argv[2]); print(json.dumps(d))' "$1" "$2"; }
# 3. interleaved timings
for round in $(seq "$ROUNDS"); do
    for cfg in $CONFIGS; do
        kind="${cfg%%:*}"; n="${cfg##*:}"
        if [ "$kind" = infer ]; then
            "$VENV/bin/python" "$HERE/tf_model.py" infer --size "$n" --repeat "$REPEAT" --checkpoint "$CKPT" 2>>"$OUT/tf-stderr.log" | tag tf "$cfg" >> "$OUT/results.jsonl"
            "$N2SP" bench --model "$OUT/random.safetensors" --size "$n" --repeat "$REPEAT" --json | tag ours "$cfg" >> "$OUT/results.jsonl"
        else
            "$VENV/bin/python" "$HERE/tf_model.py" train --batch "$n" --patch 64 --repeat "$REPEAT" --checkpoint "$CKPT" 2>>"$OUT/tf-stderr.log" | tag tf "$cfg" >> "$OUT/results.jsonl"
            "$N2SP" bench --model "$OUT/random.safetensors" --train --batch "$n" --patch 64 --repeat "$REPEAT" --json | tag ours "$cfg" >> "$OUT/results.jsonl"
        fi
        echo "round $round $cfg done (load $(cut -d' ' -f1-3 /proc/loadavg))"
    done
done

# 4. summary table
python3 - "$OUT" <<'PY'
import json, statistics, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(out + "/results.jsonl")]
cmp_ = json.load(open(out + "/tf-compare.json"))["compare_max_abs_over_max_ref"]
lines = ["| config | TF median s (per round) | ours median s (per round) | ours/TF wall (per round) | TF CPU-s/run | ours CPU-s/run | ours/TF CPU | TF peak RSS MiB | ours peak RSS MiB | 1-min load before each run |",
         "|---|---|---|---|---|---|---|---|---|---|"]
med = statistics.median
for cfg in dict.fromkeys(r["config"] for r in rows):
    tf = [r for r in rows if r["config"] == cfg and r["side"] == "tf"]
    us = [r for r in rows if r["config"] == cfg and r["side"] == "ours"]
    ratios = [u["median_seconds"] / t["median_seconds"] for t, u in zip(tf, us)]
    tcpu, ucpu = med(r["cpu_seconds_per_run"] for r in tf), med(r["cpu_seconds_per_run"] for r in us)
    lines.append("| %s | %.3f (%s) | %.3f (%s) | **%.2f** (%s) | %.3f | %.3f | **%.2f** | %d | %d | %s |" % (
        cfg, med(r["median_seconds"] for r in tf), ", ".join("%.3f" % r["median_seconds"] for r in tf),
        med(r["median_seconds"] for r in us), ", ".join("%.3f" % r["median_seconds"] for r in us),
        med(ratios), ", ".join("%.2f" % x for x in ratios), tcpu, ucpu, ucpu / tcpu,
        max(r["peak_rss_bytes"] for r in tf) >> 20, max(r["peak_rss_bytes"] for r in us) >> 20,
        ", ".join(r["loadavg_before"].split()[0] for r in tf + us)))
lines.append("")
lines.append("TF vs ours on the same checkpoint and 256² input: max|Δ|/max|TF| = %.2e" % cmp_)
open(out + "/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
