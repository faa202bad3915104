#!/usr/bin/env bash
# Scores a model on BSD68 and Set12 (σ=25, both the float32 and the 8-bit noisy inputs), runs the
# transductive fine-tuning curve on BSD68, and draws the figures in docs/.
#
#   scripts/evaluate-model.sh models/default.safetensors docs/eval [FT_LIMIT] [FT_STEPS]
#
# FT_LIMIT (default 68) = how many BSD68 images the fine-tuning curve uses (fine-tuned on and scored);
# FT_STEPS (default 0,50,100,200,400). Duration with the f=16 default model on the 2-core VM: ≈ 2 min for
# the four plain evaluations, plus ≈ 0.35 s per fine-tuning step and ≈ 0.5 s per image per budget.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=$1
OUT=$2
FT_LIMIT=${3:-68}
FT_STEPS=${4:-0,50,100,200,400}
DATA=${DATA_ROOT:-$(pwd)/../shared/data}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
N2SP=${N2SP:-.build/release/n2sp}
mkdir -p "$OUT" docs

"$N2SP" eval --model "$MODEL" --noisy "$DATA/bsd68-noisy25" --clean "$DATA/BSD68" --json \
    --save-outputs "$OUT/bsd68-outputs" > "$OUT/bsd68-f32.json"
"$N2SP" eval --model "$MODEL" --noisy "$DATA/bsd68-noisy25/png" --clean "$DATA/BSD68" --json > "$OUT/bsd68-png.json"
"$N2SP" eval --model "$MODEL" --noisy "$DATA/set12-noisy25" --clean "$DATA/Set12" --json > "$OUT/set12-f32.json"
"$N2SP" eval --model "$MODEL" --noisy "$DATA/set12-noisy25/png" --clean "$DATA/Set12" --json > "$OUT/set12-png.json"
"$N2SP" eval --model "$MODEL" --noisy "$DATA/bsd68-noisy25" --clean "$DATA/BSD68" --json --limit "$FT_LIMIT" \
    --finetune-steps "$FT_STEPS" > "$OUT/bsd68-finetune.json"

python3 scripts/plot_results.py finetune docs/finetune-bsd68.png "DEFAULT MODEL=$OUT/bsd68-finetune.json" \
    --anchor "BM3D=28.61" --anchor "N2S PAPER=27.95" --anchor "NLM=27.82" \
    --title "BSD68 (FIRST $FT_LIMIT) SIGMA 25: PSNR VS FINE-TUNE STEPS"
python3 scripts/plot_results.py grid docs/grid-bsd68.png --noisy "$DATA/bsd68-noisy25" \
    --denoised "$OUT/bsd68-outputs" --clean "$DATA/BSD68" test003 test011 test039 test060
