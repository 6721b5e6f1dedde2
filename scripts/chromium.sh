#!/usr/bin/env bash
# Print the path of a headless-capable Chromium for the browser tests, installing Debian's
# chromium package first if it is missing (the tests drive it with Playwright; Playwright's own
# browser download is never used).
set -euo pipefail
find_chromium() { command -v chromium || command -v chromium-browser || true; }
BIN=$(find_chromium)
if [ -z "$BIN" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "chromium.sh: Chromium is not installed and installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
  echo "chromium.sh: installing Chromium from Debian packages" >&2
  apt-get update -qq >&2
  # (with a CJK font, so Chinese pages render in tests and screenshots)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >&2
  BIN=$(find_chromium)
fi
echo "$BIN"
