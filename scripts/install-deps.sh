#!/usr/bin/env bash
# Installs what building and testing rbft need when it is missing: libclang,
# which RocksDB's Rust bindings (bindgen) load at build time (Debian's
# libclang-dev), and for the namespaced hosts of `testnet hosts` and their test,
# iproute2 (`ip`, `tc`) and nftables (`nft`); for the explorer page's test
# (testnet/tests/page.rs), a headless browser: Debian's chromium.
set -euo pipefail

have_libclang() {
  [ -n "${LIBCLANG_PATH:-}" ] && ls "$LIBCLANG_PATH"/libclang*.so* >/dev/null 2>&1 && return 0
  ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/x86_64-linux-gnu/libclang*.so* \
     /usr/lib/aarch64-linux-gnu/libclang*.so* >/dev/null 2>&1
}

apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "install-deps: need root or sudo to install: $*" >&2; exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: no apt-get; please install: $* (libclang for your system)" >&2; exit 1
  fi
  echo "install-deps: installing $* (once)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! have_libclang; then
  apt_install libclang-dev
fi
if ! command -v c++ >/dev/null 2>&1; then
  apt_install g++
fi
if ! command -v ip >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1; then
  apt_install iproute2
fi
if ! command -v nft >/dev/null 2>&1; then
  apt_install nftables
fi
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi
