# n2spd — build, test, install.  `make help` lists the targets.
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
# OpenBLAS reads these when the library loads (setenv in main is too late): the Haswell kernel was measured
# 1.3–1.9× faster than the auto-picked Cooperlake kernel on conv-shaped GEMMs on this Zen 4 CPU.
export OPENBLAS_CORETYPE ?= Haswell

APT_PACKAGES := libopenblas-dev libpng-dev libjpeg-dev libprotobuf-c-dev protobuf-c-compiler pkg-config
RELEASE_DIR := .build/release
# Tests build in release mode (heavy numeric parity tests) in their own folder so that they do not evict
# the product build (testability changes the flags).
TEST_SCRATCH := .build-test

.PHONY: help deps build test demo install clean protos

help:
	@echo "make deps     install the Debian packages n2spd needs (apt-get; idempotent)"
	@echo "make build    build n2sp and n2spd (release)"
	@echo "make test     install deps, then run the whole test suite (release mode)"
	@echo "make demo     the main job: import the bundled fixture checkpoint and print its summary"
	@echo "make install  install binaries, units, example config and default model under PREFIX=$(PREFIX)"
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

test: deps
	$(SWIFT) test -c release --scratch-path $(TEST_SCRATCH)

demo: build
	$(RELEASE_DIR)/n2sp inspect ../shared/fixtures/tf-ckpt-small
	$(RELEASE_DIR)/n2sp import-checkpoint ../shared/fixtures/tf-ckpt-small -o demo-out/small.safetensors --keep-optimizer-state --force
	$(RELEASE_DIR)/n2sp inspect demo-out/small.safetensors

protos:
	scripts/generate-protos.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(RELEASE_DIR)/n2sp $(RELEASE_DIR)/n2spd $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf .build $(TEST_SCRATCH) demo-out
