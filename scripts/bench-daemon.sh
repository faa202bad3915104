#!/usr/bin/env bash
# Daemon end-to-end benchmark (issue 6): n2spd latency per image (drop → output visible), burst throughput
# (files/minute), peak RSS and CPU seconds of the daemon, plus the model-level `n2sp bench` timings of the
# same model (inference 256² / 512² / 4096² tiled, one training step). Not part of CI: it takes a few minutes
# (about 2.5 min on a loaded 2-core machine, most of it the 4096² tiled pass) and its numbers only mean
# something on an otherwise idle machine.
#
#   scripts/bench-daemon.sh [OUT_DIR]          (default OUT_DIR: /tmp/n2spd-bench-daemon-<UTC time>)
#
# Environment (all optional):
#   MODEL=models/default.safetensors   the model the daemon and `n2sp bench` use
#   N2SPD=… N2SP=…                     prebuilt binaries (default: `swift build -c release`, then .build/release)
#   REPEATS=9                          drops per image kind in the latency phases
#   BURST=68                           images in the throughput burst (BSD68 noisy σ=25 PNGs, reused if > 68)
#   WORKERS=1                          the daemon's worker_threads (the shipped default is 1)
#   SETTLE=2                           the configured settle_time, seconds (the shipped default is 2 s)
#   FINETUNE=1                         0 skips the extra run with fine-tuning enabled (a fine-tune after a burst
#                                      of 40 images; its RSS and a latency probe while it trains). Every other
#                                      number is taken with fine-tuning off.
#   FT_STEPS=30                        optimizer steps of that fine-tune
#   MODEL_BENCH=1                      0 skips the `n2sp bench` part
#   KEEP=0                             1 keeps the daemon's working folders (inbox, outbox, state, log)
#   N2SPD_SHARED=../shared             where data/{set12,bsd68}-noisy25 live
#
# Results: OUT_DIR/results.json (every raw sample) and OUT_DIR/summary.md (the tables for BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
# OpenBLAS reads it when the library loads, so it must be in the daemon's environment (as in the unit file).
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"

if [[ -z "${N2SPD:-}" || -z "${N2SP:-}" ]]; then
  swift build -c release --product n2spd >&2
  swift build -c release --product n2sp >&2
  bin="$(swift build -c release --show-bin-path)"
  N2SPD="${N2SPD:-$bin/n2spd}"
  N2SP="${N2SP:-$bin/n2sp}"
fi
OUT="${1:-${TMPDIR:-/tmp}/n2spd-bench-daemon-$(date -u +%Y%m%dT%H%M%SZ)}"

exec python3 scripts/bench_daemon.py \
  --n2spd "$N2SPD" --n2sp "$N2SP" \
  --model "${MODEL:-models/default.safetensors}" \
  --shared "${N2SPD_SHARED:-../shared}" \
  --out "$OUT" \
  --repeats "${REPEATS:-9}" --burst "${BURST:-68}" --workers "${WORKERS:-1}" --settle "${SETTLE:-2}" \
  --finetune "${FINETUNE:-1}" --ft-steps "${FT_STEPS:-30}" \
  --model-bench "${MODEL_BENCH:-1}" --keep "${KEEP:-0}"
