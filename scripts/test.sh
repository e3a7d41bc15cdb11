#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build, and run the whole test suite with ctest.
# Extra arguments go to ctest (e.g. -L unit, -R Vault).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$root"
ctest --preset release --timeout 600 "$@"
