#!/usr/bin/env bash
# Installs, with apt-get, exactly the Debian 12 packages ml-connector needs that are not yet installed.
# Idempotent and quiet when everything is present; run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang
  libboost-dev libboost-filesystem-dev libboost-system-dev
  libcurl4-openssl-dev libssl-dev libsqlite3-dev
  nlohmann-json3-dev libfmt-dev libspdlog-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 curl ca-certificates
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
