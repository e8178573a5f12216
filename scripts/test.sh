#!/usr/bin/env bash
# The one gate: formatting, lints, and every test of the workspace. CI runs this (.ci/run).
# Installs what it needs on a fresh Debian machine when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
# nokhwa's bindgen step needs libclang; the screenshot script needs Xvfb and ImageMagick.
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need_pkgs+=(libclang-dev)
command -v Xvfb >/dev/null 2>&1 || need_pkgs+=(xvfb xauth)
if [ ${#need_pkgs[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing ${need_pkgs[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# Real QR images for decoder regression tests (never committed into this repository).
if [ -z "${QR_SAMPLES:-}" ] && [ -d ../shared/qr-samples ]; then
  export QR_SAMPLES="$(cd ../shared/qr-samples && pwd)"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
