#!/usr/bin/env bash
# Installs the Debian packages Teichaku needs when they are missing; explains what to do without root.
# postgresql and redis-server: the tests start throwaway servers of their own (tests/servers.py) on
# 127.0.0.1; postgresql-client brings pg_dump/pg_restore for the backup test.
set -euo pipefail
PACKAGES=(libharfbuzz-subset0 fonts-morisawa-bizud-gothic poppler-utils chromium postgresql postgresql-client
  redis-server)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "error: these Debian packages are missing and this user cannot install them: ${missing[*]}" >&2
  echo "       ask an administrator to run: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "Installed: ${missing[*]}"
