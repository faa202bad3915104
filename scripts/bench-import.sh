#!/usr/bin/env bash
# Times the TF checkpoint import on a synthetic paper-size checkpoint (ModelArchitecture.paper with Adam
# slots, 66.8 MB of tensors). Not part of the test suite: the benchmark test skips itself unless
# N2SPD_BENCH=1. Takes about a minute including the release build; run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"
N2SPD_BENCH=1 swift test -c release --scratch-path .build-test --filter ImportBenchmark 2>&1 \
  | grep -E "ms .*MB/s|paper checkpoint|error|failed" || true
