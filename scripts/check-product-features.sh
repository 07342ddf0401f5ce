#!/usr/bin/env bash
# The shipped `rbft` binary must not contain the test-only faults: the replica's
# fault switches (consensus feature `test-faults`, consensus/Cargo.toml) and the
# bugs the simulator plants in the host core (node feature `test-faults`).
# Cargo unifies features per invocation, so the Makefile builds `-p node` on its
# own; this checks that node's own dependency tree, resolved alone as that build resolves it, never asks
# for the feature. It fails if node, or anything node depends on, enables it.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
FEATURE=test-faults

tree=$("$CARGO" tree --locked -p node -e normal,build,features)
# Not vacuous: the tree is the one that holds the replica.
if ! grep -q 'consensus v' <<<"$tree"; then
  echo "check-product-features: consensus not found in node's tree" >&2
  exit 1
fi
if grep -nE "(consensus|node) feature \"$FEATURE\"" <<<"$tree" >&2; then
  echo "check-product-features: the product (node) enables $FEATURE;" \
    "only testnet and the crates' own tests may" >&2
  exit 1
fi
echo "check-product-features: node builds itself and consensus without $FEATURE"
