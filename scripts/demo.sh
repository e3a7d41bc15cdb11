#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the Brex -> FreshBooks flow end to end
# against the two vendor emulators (tools/demo: mlc-demo). Extra arguments go to mlc-demo
# (--records N, --webhook-records N, --seed S, --keep-running).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
bin="$root/build/release/bin"
echo
echo "== mlc $("$bin/mlc" --version | cut -d' ' -f2-)"
echo "== plugins in build/release/plugins:"
"$bin/mlc" plugins list --plugin-dir "$root/build/release/plugins"
echo
exec "$bin/mlc-demo" --workdir "$root/build/release/mlc-demo" "$@"
