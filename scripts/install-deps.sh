#!/usr/bin/env bash
# Install the Debian 12 packages chore needs to build and test, when missing.
# Runs apt-get as root, or through sudo. `install-deps.sh fuzz` adds clang
# (libFuzzer) for `make fuzz`.
set -euo pipefail
packages=(build-essential cmake pkg-config libsqlite3-dev libjansson-dev libcmocka-dev sqlite3
  tzdata python3 python3-croniter golang-go golang-github-robfig-cron-dev
  libmicrohttpd-dev libinih-dev libcurl4-openssl-dev chromium chromium-driver python3-selenium
  postgresql libpq-dev)
[ "${1:-}" = fuzz ] && packages+=(clang)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
