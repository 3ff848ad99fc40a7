#!/usr/bin/env bash
# Headless browser tests of the web package (web/tests/browsers.test.js): the demo page trains
# the seed model on WebGPU in Chromium (SwiftShader) and Firefox ESR (lavapipe), and on the
# CPU backend without WebGPU, against the native CPU backend's numbers. Installs what a fresh
# Debian machine lacks (the browsers from Debian's packages, the npm packages pinned in
# web/tests/package-lock.json), builds the web package and the `wgtrain` command, then runs the
# tests with node's test runner. Screenshots and fit times: target/web-tests/.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || missing+=(firefox-esr)
# Firefox's WebGPU runs on Vulkan: lavapipe gives it an adapter (as it does the native tests).
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers libvulkan1)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

bash web/build.sh
cargo build --release --bin wgtrain
(cd web/tests && npm ci --no-audit --no-fund)

mkdir -p target/web-tests
WGTRAIN_BIN="$PWD/target/release/wgtrain" node --test --test-concurrency=1 web/tests/
