#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/ and plugins/*/fuzz/, clang++-14, ASan + UBSan) in build/fuzz and runs each for a fixed time
# on a scratch copy of its seed corpus. See docs/fuzzing.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default 60 s each, every target
#   scripts/fuzz.sh 300 money json
#
# Prints one line per target; exits 1 when any target found a crash, naming the crash file (kept under
# build/fuzz/findings/<target>/). Extra libFuzzer flags can be passed in $MLC_FUZZ_FLAGS; another build
# folder in $MLC_FUZZ_BUILD_DIR (absolute).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Every <name>_fuzz.cpp in fuzz/ and in a vendor's plugins/<vendor>/fuzz/ is a target; its seeds and past
# findings sit beside it in corpus/<name>/ and regressions/<name>/.
declare -A target_dir=()
while IFS= read -r src; do
  name=$(basename "$src" _fuzz.cpp)
  target_dir[$name]=$(dirname "$src")
done < <(find "$root/fuzz" "$root"/plugins/*/fuzz -maxdepth 1 -name '*_fuzz.cpp' 2>/dev/null | sort)
mapfile -t all_targets < <(printf '%s\n' "${!target_dir[@]}" | sort)

seconds=60
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${all_targets[@]}"); fi
for t in "${targets[@]}"; do
  if [[ -z "${target_dir[$t]:-}" ]]; then
    echo "unknown fuzz target '$t' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

build="${MLC_FUZZ_BUILD_DIR:-$root/build/fuzz}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DMLC_FUZZ=ON -DMLC_BUILD_TESTS=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; exit 2; }
cmake --build "$build" --target "${targets[@]/#/fuzz_}" -j"${MLC_FUZZ_JOBS:-2}" >"$build.build.log" 2>&1 ||
  { tail -50 "$build.build.log" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for t in "${targets[@]}"; do
  corpus="$scratch/$t"
  findings="$build/findings/$t"
  mkdir -p "$corpus" "$findings"
  cp -r "${target_dir[$t]}/corpus/$t/." "$corpus/"
  if [[ -d "${target_dir[$t]}/regressions/$t" ]]; then cp -r "${target_dir[$t]}/regressions/$t/." "$corpus/"; fi
  log="$build/findings/$t.log"
  set +e
  # shellcheck disable=SC2086  # MLC_FUZZ_FLAGS is a list of flags
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$corpus" ${MLC_FUZZ_FLAGS:-} >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)
  per_s=$(( ${runs:-0} / (seconds > 0 ? seconds : 1) ))
  crash=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //' || true)
  if [[ $rc -ne 0 || -n "$crash" ]]; then
    echo "FAIL $t: crash after ${runs:-?} runs: ${crash:-see $log} (log: $log)"
    status=1
  else
    echo "ok   $t: ${seconds}s, ${runs:-?} runs (~${per_s}/s), corpus $(ls "$corpus" | wc -l) files"
  fi
done
exit $status
