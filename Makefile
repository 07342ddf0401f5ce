# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all deps build run test lint product unit bench sim-sweep fuzz fuzz-seeds clean

# The shipped `rbft` binary (node) is always built by a cargo invocation of its own,
# after the rest: cargo unifies features per invocation, and testnet switches on the
# replica's test-only faults and the host core's planted bugs (features
# `test-faults` of consensus and node), which must never be in a node. `make test` checks node's tree never asks for them (`product`).
BUILD_RBFT = $(CARGO) build --release -p node

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	$(CARGO) build --workspace --release --exclude node
	$(BUILD_RBFT)

# Starts the local 4-node testnet in ./testnet-data (created on the first run,
# reused after); Ctrl-C stops every node.
run: deps
	$(CARGO) build --release -p testnet
	$(BUILD_RBFT)
	./target/release/testnet up

# The whole check: formatting, lints with warnings as errors, every test.
# Tests run in the dev profile with optimised dependencies (Cargo.toml), so RocksDB
# is compiled once for lints and tests alike.
test: deps lint product unit

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The product's dependency tree holds no test-only fault (see BUILD_RBFT).
product:
	CARGO=$(CARGO) ./scripts/check-product-features.sh

unit:
	@if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast && $(CARGO) test --workspace --doc; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

bench: deps
	$(CARGO) bench -p crypto -p ledger
	$(CARGO) build --release -p testnet
	$(BUILD_RBFT)
	./target/release/testnet bench --duration 60 --rate 5000
	./target/release/testnet bench-catch-up --blocks 100000

# Every simulator suite over fresh seeds: SWEEP_SEEDS per suite from SWEEP_SEED.
# Prints progress, a table per suite and each failing seed's replay command.
SWEEP_SEED ?= 1000000
SWEEP_SEEDS ?= 2000
SWEEP_SUITES ?= all
sim-sweep: deps
	$(CARGO) build --release -p testnet
	$(BUILD_RBFT)
	./target/release/testnet sweep --seed $(SWEEP_SEED) --seeds $(SWEEP_SEEDS) --suites $(SWEEP_SUITES)

# Every fuzz target in turn, FUZZ_SECONDS each (RELIABILITY.md, "Fuzzed decoders");
# `make test` replays their corpora and regressions.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# Writes the seed corpora of fuzz/corpus/ again from node::fuzz_checks::seeds.
fuzz-seeds:
	$(CARGO) test -p node --test fuzz_replay -- --ignored write_seed_corpus

clean:
	$(CARGO) clean
