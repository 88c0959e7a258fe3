# pinpipe: build, test and run the tools. `make help` lists the targets.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= debug
# Release tools carry the Swift runtime and Foundation inside them: a tool then starts in about half
# the time (fewer libraries to load and bind), which matters for runs of a second or less and cron.
# lld links them without the GNU linker's warnings about Foundation's use of mktemp.
RELEASE_FLAGS ?= --static-swift-stdlib -Xswiftc -use-ld=lld

.PHONY: help setup build release test lint format stack-up stack-down demo run-api run-batch run-stream bench

help:
	@echo "make setup       install Debian packages and the Python virtualenv (as needed)"
	@echo "make build       build every tool (debug; CONFIG=release for release)"
	@echo "make test        set up, build, start the local stack, run all tests, stop the stack"
	@echo "make lint        swift format lint"
	@echo "make stack-up    start Kafka, S3 and PostgreSQL on loopback (prints the environment)"
	@echo "make stack-down  stop them"
	@echo "make demo        the whole pipeline end to end on the local stack with the real sample"
	@echo "make run-api     pin-api on 127.0.0.1:8000 (Kafka from KAFKA_BOOTSTRAP_SERVERS)"
	@echo "make run-stream  pin-stream-pg from the topic into DATABASE_URL"
	@echo "make run-batch   the daily DAG: pin-consume-s3 --once, then pin-batch (cron-safe)"
	@echo "make bench       every stage against its baseline (kcat, psql \\copy, /healthz)"

setup:
	bin/setup

build: setup
	$(SWIFT) build -c $(CONFIG) $(if $(filter release,$(CONFIG)),$(RELEASE_FLAGS))

release:
	$(MAKE) build CONFIG=release

test: setup
	$(SWIFT) build --build-tests
	bin/with-stack $(SWIFT) test --skip-build --no-parallel

lint:
	$(SWIFT) format lint --strict -r Sources Tests Package.swift

format:
	$(SWIFT) format -i -r Sources Tests Package.swift

stack-up: setup
	@bin/stack up

stack-down:
	@bin/stack down

# The demo moves 1,543 records: a debug build (shared with make test) is fast enough.
demo: build
	PINPIPE_BIN=.build/debug bin/demo

run-api: release
	.build/release/pin-api

run-stream: release
	.build/release/pin-stream-pg

run-batch: release
	bin/run-batch

# Every stage next to its baseline in the same run; writes docs/benchmarks.md.
bench: setup release
	bin/with-stack bin/bench
