#!/usr/bin/env bash
# The reliability suite (docs/reliability.md): crash loop, fault soak, webhook abuse and token rotation
# against the emulators. Builds like scripts/test.sh, then runs only ctest label `reliability`.
# Extra arguments go to ctest (e.g. -R CrashLoop). MLC_RELIABILITY_SEED=N replays a printed seed.
# MLC_SKIP_BUILD=1 runs what is already built in build/release.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ "${MLC_SKIP_BUILD:-}" != "1" ]]; then
  "$root/scripts/install-deps.sh"
  "$root/scripts/build.sh"
fi
cd "$root"
ctest --preset release -L reliability --timeout 900 "$@"
