#!/usr/bin/env bash
# Configures and builds ml-connector in build/release (shared by the demo and the test command).
# Warnings are errors when CI=true or MLC_WERROR=ON.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
werror=${MLC_WERROR:-OFF}
if [[ "${CI:-}" == "true" ]]; then werror=ON; fi
cmake --preset release -S "$root" -DMLC_WERROR="$werror" >/dev/null
cmake --build --preset release
