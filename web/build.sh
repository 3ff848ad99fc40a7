#!/usr/bin/env bash
# Builds the web package: the engine and web/ for wasm32-unknown-unknown (release), then
# wasm-bindgen's `--target web` glue into web/demo/pkg/ (used as generated, no post-processing),
# where web/demo/index.html imports it. Installs what is missing: the wasm32 target, and the
# wasm-bindgen-cli whose version equals the wasm-bindgen in Cargo.lock (the CLI and the
# library must match exactly).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$version" ]; then
    echo "error: no wasm-bindgen in Cargo.lock" >&2
    exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $version" ]; then
    # --locked takes the CLI's own lock file; where a registry mirror lacks one of its pinned
    # versions, the newest compatible ones are taken instead (the CLI's version stays exact).
    cargo install wasm-bindgen-cli --version "$version" --locked ||
        cargo install wasm-bindgen-cli --version "$version"
fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi

cargo build -p wgtrain-web --target wasm32-unknown-unknown --release
rm -rf web/demo/pkg
wasm-bindgen --target web --out-dir web/demo/pkg target/wasm32-unknown-unknown/release/wgtrain_web.wasm
wasm=web/demo/pkg/wgtrain_web_bg.wasm
echo "web package: $wasm ($(wc -c <"$wasm") bytes, $(gzip -9c "$wasm" | wc -c) gzipped)"
