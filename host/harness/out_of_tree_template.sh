#!/usr/bin/env bash
# The template as a third party uses it: copied out of the tree and renamed to vendor "acme", built
# against the SDK folder alone (plugin and its own emulator binary from the sandbox kit), then checked
# by the tree's mlc-harness against that binary over loopback. ctest runs it (harness_out_of_tree,
# label e2e); it passes only when the copy lists and serves its emulator and the harness passes.
#
#   host/harness/out_of_tree_template.sh SDK_DIR MLC_HARNESS WORK_DIR
set -euo pipefail
sdk=$(cd "$1" && pwd)
harness=$2
work=$3

rm -rf "$work"
mkdir -p "$work"
cp -r "$sdk/template" "$work/acme"
# The rename a new vendor makes: the emulator's registered name and its CMake registration.
sed -i 's/registry.Register("template"/registry.Register("acme"/' "$work/acme/sandbox/template_emulator.cpp"
sed -i 's/VENDOR template /VENDOR acme /' "$work/acme/sandbox/CMakeLists.txt"
grep -q 'Register("acme"' "$work/acme/sandbox/template_emulator.cpp"
grep -q 'VENDOR acme ' "$work/acme/sandbox/CMakeLists.txt"

echo "== configure and build $work/acme against $sdk (no host)"
cmake -S "$work/acme" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMLC_SDK_DIR="$sdk" -DMLC_TEMPLATE_WITH_SANDBOX=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j2 >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
if grep -rq -- "$(dirname "$sdk")/host" "$work/build/compile_commands.json" 2>/dev/null; then
  echo "the out-of-tree build reached into host/"
  exit 1
fi

sandbox=$(find "$work/build" -name mlc-sandbox -type f -perm -u+x | head -1)
plugin="$work/build/plugins/template.so"
[[ -x "$sandbox" ]] || { echo "no mlc-sandbox binary in the out-of-tree build"; exit 1; }
[[ -f "$plugin" ]] || { echo "no template.so in the out-of-tree build"; exit 1; }

listed=$("$sandbox" --list)
echo "mlc-sandbox --list: $listed"
[[ "$listed" == "acme" ]] || { echo "expected the renamed emulator 'acme' to be listed"; exit 1; }

echo "== start the out-of-tree emulator"
announce="$work/announce.txt"
"$sandbox" acme --port 0 >"$announce" 2>"$work/sandbox.err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
base_url=""
for _ in $(seq 1 100); do
  if [[ -s "$announce" ]]; then
    base_url=$(head -1 "$announce" | sed -n 's/.*"base_url":"\([^"]*\)".*/\1/p')
    [[ -n "$base_url" ]] && break
  fi
  kill -0 "$pid" 2>/dev/null || { cat "$work/sandbox.err"; echo "the emulator exited"; exit 1; }
  sleep 0.1
done
[[ "$base_url" == http://127.0.0.1:* ]] || { echo "no announcement on stdout"; cat "$announce"; exit 1; }
echo "emulator at $base_url"

echo "== mlc-harness against it"
out=$("$harness" --plugin "$plugin" --base-url "$base_url" --verbose) || { echo "$out"; echo "mlc-harness failed"; exit 1; }
echo "$out"
grep -Eq '^[0-9]+ passed, 0 failed(, [0-9]+ skipped)?$' <<<"$out" || { echo "no 'N passed, 0 failed' line"; exit 1; }
passed=$(grep -Eo '^[0-9]+ passed' <<<"$out" | grep -Eo '^[0-9]+')
(( passed >= 10 )) || { echo "only $passed checks passed"; exit 1; }
echo "out-of-tree template: ok ($passed checks passed)"
