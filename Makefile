# pinpipe: build, test and run the tools. `make help` lists the targets.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= debug

.PHONY: help setup build release test lint format stack-up stack-down demo run-api run-batch run-stream bench

help:
	@echo "make setup       install Debian packages and the Python virtualenv (as needed)"
	@echo "make build       build every tool (debug; CONFIG=release for release)"
	@echo "make test        set up, build, start the local stack, run all tests, stop the stack"
	@echo "make lint        swift format lint"
	@echo "make stack-up    start Kafka, S3 and PostgreSQL on loopback (prints the environment)"
	@echo "make stack-down  stop them"
	@echo "make demo        the whole pipeline end to end (not built yet)"

setup:
	bin/setup

build: setup
	$(SWIFT) build -c $(CONFIG)

release:
	$(MAKE) build CONFIG=release

test: setup
	$(SWIFT) build --build-tests
	bin/with-stack $(SWIFT) test --skip-build

lint:
	$(SWIFT) format lint --strict -r Sources Tests Package.swift

format:
	$(SWIFT) format -i -r Sources Tests Package.swift

stack-up: setup
	@bin/stack up

stack-down:
	@bin/stack down

demo run-api run-batch run-stream bench:
	@echo "make $@: not built yet; see the open issues" >&2
	@exit 2
