# n2spd — build, test, install.  `make help` lists the targets.
SHELL := /bin/bash
SWIFT ?= swift
# Swift lives in /opt/swift on our machines; make it findable when the login shell did not add it.
export PATH := $(PATH):/opt/swift/usr/bin
PREFIX ?= /usr/local
# OpenBLAS reads these when the library loads (setenv in main is too late): the Haswell kernel was measured
# 1.3–1.9× faster than the auto-picked Cooperlake kernel on conv-shaped GEMMs on this Zen 4 CPU.
export OPENBLAS_CORETYPE ?= Haswell

# The bundled model: models/default.safetensors when present, else the reference fixture checkpoint.
DEFAULT_MODEL := $(firstword $(wildcard models/default.safetensors) ../shared/fixtures/tf-ckpt-small)

APT_PACKAGES := libopenblas-dev libpng-dev libjpeg-dev libprotobuf-c-dev protobuf-c-compiler pkg-config systemd
RELEASE_DIR := .build/release
# Tests build in release mode (heavy numeric parity tests) in their own folder so that they do not evict
# the product build (testability changes the flags).
TEST_SCRATCH := .build-test

.PHONY: help deps build test demo run install check-safetensors clean protos default-model

help:
	@echo "make deps     install the Debian packages n2spd needs (apt-get; idempotent)"
	@echo "make build    build n2sp and n2spd (release)"
	@echo "make test     install deps, then run the whole test suite (release mode), unit checks, safetensors interop"
	@echo "make run      the main job: the daemon in the foreground on ./inbox → ./outbox with the default model"
	@echo "make demo     import and inspect the reference TF checkpoint, denoise a Set12 image with the default model"
	@echo "make install  install binaries, units, example config and default model under PREFIX=$(PREFIX)"
	@echo "make default-model  retrain the bundled model from scratch (about 45 min idle; see scripts/train-default-model.sh)"
	@echo "make protos   regenerate the protobuf-c code from protos/*.proto"

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build -c release

# The whole suite: Swift tests (release: the numeric parity tests are heavy), systemd unit verification,
# and Python interoperability of our safetensors files.
test: deps
	$(SWIFT) test -c release --scratch-path $(TEST_SCRATCH)
	scripts/verify-units.sh
	$(MAKE) --no-print-directory check-safetensors N2SP=$(TEST_SCRATCH)/release/n2sp

demo: build
	$(RELEASE_DIR)/n2sp inspect ../shared/fixtures/tf-ckpt-small
	$(RELEASE_DIR)/n2sp import-checkpoint ../shared/fixtures/tf-ckpt-small -o demo-out/small.safetensors --keep-optimizer-state --force
	$(RELEASE_DIR)/n2sp inspect demo-out/small.safetensors
	$(RELEASE_DIR)/n2sp denoise ../shared/data/set12-noisy25/png/01.png -o demo-out --model $(DEFAULT_MODEL) --compare

protos:
	scripts/generate-protos.sh

# Rebuilds models/default.safetensors from scratch with our own trainer (noisy Train400, two-phase
# Noise2Same → Noise2SamePro). About 50–80 min on a 2-core machine plus 2 min for the noisy data; resumable.
# Variables (RUN, STEPS, PRO_STEPS, DECAY, FILTERS, BATCH, SEED, MASKING, LAMBDA, INSTALL): see the script.
default-model: build
	scripts/train-default-model.sh

run: build
	@mkdir -p inbox outbox
	@echo "n2spd: drop PNG/JPEG files into ./inbox; denoised files appear in ./outbox (Ctrl-C stops)"
	$(RELEASE_DIR)/n2spd --inbox inbox --outbox outbox --state-dir .n2spd-state --model $(DEFAULT_MODEL)

install: build
	N2SPD_MODEL_SOURCE=$${N2SPD_MODEL_SOURCE:-$(DEFAULT_MODEL)} PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/install.sh

# A Python user must be able to read our weights with the `safetensors` package (PyPI; test tooling only).
N2SP ?= $(RELEASE_DIR)/n2sp
check-safetensors:
	python3 -m pip install -q --disable-pip-version-check safetensors numpy
	$(N2SP) import-checkpoint ../shared/fixtures/tf-ckpt-small -o demo-out/ci.safetensors --force --keep-optimizer-state
	python3 scripts/check-safetensors.py demo-out/ci.safetensors --variables ../shared/fixtures/tf-ckpt-small/variables.json

clean:
	rm -rf .build $(TEST_SCRATCH) demo-out .n2spd-state
