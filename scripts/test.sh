#!/usr/bin/env bash
# Install what the tests need, then run them. The README's test command; CI runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium for the browser tests, bubblewrap for the code sandbox's tests: one apt-get update for both.
missing=()
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then missing+=(chromium chromium-driver); fi
if ! command -v bwrap >/dev/null; then missing+=(bubblewrap); fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's ${missing[*]} for the tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "The tests need Debian's ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
  fi
fi

python -m pip install -q -r requirements-dev.txt
python -m ruff check .
exec python -m pytest "$@"
