#!/usr/bin/env bash
# Print the path of axe-core's browser script (axe.min.js) for the accessibility checks of the
# browser tests, installing the npm package axe-core (pinned) into .cache/axe first if it is
# missing, and Node.js and npm from Debian packages if those are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.11.0
DIR=.cache/axe
FILE="$DIR/node_modules/axe-core/axe.min.js"
if [ ! -f "$FILE" ] || ! grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/axe-core/package.json" 2>/dev/null; then
  if ! command -v npm > /dev/null; then
    bash scripts/apt_install.sh axe.sh nodejs npm
  fi
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --silent "axe-core@$VERSION" >&2
fi
echo "$(pwd)/$FILE"
