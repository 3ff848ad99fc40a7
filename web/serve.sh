#!/usr/bin/env bash
# Serves the demo page (web/demo/, after web/build.sh) on 127.0.0.1 (a page's WebGPU and
# module imports need http://, not file://). Port: the first argument, default 8000.
set -euo pipefail
cd "$(dirname "$0")/demo"
if [ ! -f pkg/wgtrain_web.js ]; then
    echo "error: web/demo/pkg/ is missing: run 'bash web/build.sh' first" >&2
    exit 1
fi
port="${1:-8000}"
echo "wgtrain demo: http://127.0.0.1:$port/"
exec python3 -m http.server --bind 127.0.0.1 "$port"
