#!/usr/bin/env bash
# Install Debian packages for the test command (needs root): scripts/apt_install.sh WHO PKG...
# WHO names the caller in messages. Output goes to stderr, so callers can print results on stdout.
set -euo pipefail
who=$1; shift
if [ "$(id -u)" != 0 ]; then
  echo "$who: $* not installed, and installing needs root (apt-get install $*)" >&2
  exit 1
fi
echo "$who: installing $* from Debian packages" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
