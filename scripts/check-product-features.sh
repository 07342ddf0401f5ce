#!/usr/bin/env bash
# The shipped `rbft` binary must not contain the replica's test-only faults
# (consensus feature `test-faults`, consensus/Cargo.toml). Cargo unifies features
# per invocation, so the Makefile builds `-p node` on its own; this checks that
# node's own dependency tree, resolved alone as that build resolves it, never asks
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
if grep -n "consensus feature \"$FEATURE\"" <<<"$tree" >&2; then
  echo "check-product-features: the product (node) enables consensus/$FEATURE;" \
    "only testnet and consensus's own tests may" >&2
  exit 1
fi
echo "check-product-features: node builds consensus without $FEATURE"
