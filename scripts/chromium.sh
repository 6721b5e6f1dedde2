#!/usr/bin/env bash
# Print the path of a headless-capable Chromium for the browser tests, installing Debian's
# chromium package first if it is missing (the tests drive it with Playwright; Playwright's own
# browser download is never used).
set -euo pipefail
find_chromium() { command -v chromium || command -v chromium-browser || true; }
BIN=$(find_chromium)
if [ -z "$BIN" ]; then
  # (with a CJK font, so Chinese pages render in tests and screenshots)
  bash "$(dirname "$0")/apt_install.sh" chromium.sh chromium fonts-wqy-zenhei
  BIN=$(find_chromium)
fi
echo "$BIN"
