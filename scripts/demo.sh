#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the main job.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
bin="$root/build/release/bin"
echo
echo "== mlc $("$bin/mlc" --version | cut -d' ' -f2-)"
echo "== plugins loaded from build/release/plugins:"
"$bin/mlc" plugins list --plugin-dir "$root/build/release/plugins"
