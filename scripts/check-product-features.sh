#!/usr/bin/env bash
# Fails if the `rbft` binary, built as the Makefile builds it (`cargo build -p
# node`), would carry a test-only feature: the bugs the simulator plants in the
# host core (`node/test-faults`) or the replica's fault switches.
set -euo pipefail
features=$(cargo tree -p node -e features --prefix none --no-dedupe 2>/dev/null | grep -o '"[a-z0-9-]*"' | sort -u || true)
if [ -z "$features" ]; then
  echo "check-product-features: cargo tree listed no features" >&2
  exit 1
fi
bad=$(grep -x '"test-faults"' <<<"$features" || true)
if [ -n "$bad" ]; then
  echo "check-product-features: the product build enables $bad" >&2
  cargo tree -p node -e features -i node 2>/dev/null | head -20 >&2 || true
  exit 1
fi
echo "check-product-features: the product build enables no test-only feature"
