#!/usr/bin/env bash
# Throwaway TensorFlow-CPU environment for the baseline benchmark (never part of the product or CI).
# Usage: scripts/tf-baseline/setup.sh [VENV_DIR]   (default /tmp/tf-venv)
set -euo pipefail
VENV="${1:-/tmp/tf-venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet 'tensorflow-cpu==2.15.1' 'numpy<2'
"$VENV/bin/python" -c 'import tensorflow as tf; print("tensorflow", tf.__version__, "oneDNN", tf.sysconfig.get_build_info().get("cpu_compiler", "?"))'
