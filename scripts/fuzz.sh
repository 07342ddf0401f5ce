#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ in turn for FUZZ_SECONDS each (`make fuzz`), one
# at a time, and prints a table row per target: seconds, executions and crashes,
# then the total. Exits non-zero if any target found a crash (libFuzzer keeps it in
# fuzz/artifacts/TARGET/; fix the decoder, then add the input to
# fuzz/regressions/TARGET/ so that `make test` replays it).
#
#   FUZZ_SECONDS=60        seconds per target
#   FUZZ_TARGETS="a b"     some targets only (default: every one)
#   FUZZ_RSS_MB=512        libFuzzer's resident-memory limit
#
# cargo-fuzz on stable Rust: `--sanitizer none` needs no nightly flag. Allocation
# is bounded by the targets' own counting allocator (fuzz/src/budget.rs), since
# libFuzzer's -malloc_limit_mb only works under a sanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
rss_mb="${FUZZ_RSS_MB:-512}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (once)"
  cargo install cargo-fuzz --locked
fi

# RocksDB's C++ (linked through ledger, unused by the targets) takes about twenty
# minutes to compile on two cores. Reuse the library the workspace's build made,
# copied so that its path, which cargo remembers, stays the same; without one,
# cargo-fuzz compiles it.
prebuilt=fuzz/target/rocksdb
if [ ! -f "$prebuilt/librocksdb.a" ]; then
  built=$(ls target/debug/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -n 1 || true)
  if [ -n "$built" ]; then
    mkdir -p "$prebuilt"
    cp -p "$built" "$prebuilt/"
  fi
fi
if [ -f "$prebuilt/librocksdb.a" ]; then
  export ROCKSDB_LIB_DIR="$PWD/$prebuilt" ROCKSDB_STATIC=1
fi

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
cargo fuzz build --sanitizer none

mkdir -p fuzz/target/logs
total=0
failed=""
echo "| target | seconds | executions | executions/s | crashes |"
echo "| --- | ---: | ---: | ---: | ---: |"
for target in $targets; do
  # New inputs go to the first folder, out of the repository; the committed seeds
  # and regressions are read, not written.
  work=fuzz/target/corpus/$target
  mkdir -p "$work"
  inputs=("$work" "fuzz/corpus/$target")
  [ -d "fuzz/regressions/$target" ] && inputs+=("fuzz/regressions/$target")
  log=fuzz/target/logs/$target.log
  status=0
  cargo fuzz run --sanitizer none "$target" "${inputs[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  runs=${runs:-0}
  crashes=0
  if [ "$status" -ne 0 ]; then
    crashes=1
    failed="$failed $target"
  fi
  total=$((total + runs))
  echo "| $target | $seconds | $runs | $((runs / seconds)) | $crashes |"
done
echo "| total | | $total | | |"
if [ -n "$failed" ]; then
  echo "fuzz: crashes in:$failed (logs in fuzz/target/logs, inputs in fuzz/artifacts)" >&2
  exit 1
fi
