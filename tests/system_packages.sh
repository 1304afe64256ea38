#!/usr/bin/env bash
# The Debian packages the tests use, installed when missing: chromium (the browser tests,
# tests/test_e2e_web.py), util-linux's unshare and mount (the full-disk test,
# tests/test_e2e_storage_faults.py). Part of the README's test command.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v unshare >/dev/null || missing+=(util-linux)
command -v mount >/dev/null || missing+=(mount)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo_if_needed=""
[ "$(id -u)" = 0 ] || sudo_if_needed=sudo
$sudo_if_needed apt-get update -q
$sudo_if_needed apt-get install -y -q "${missing[@]}"
