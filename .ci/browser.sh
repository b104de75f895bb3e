#!/usr/bin/env bash
# Headless Chromium for the report's browser test (tests/test_report.py, marker `browser`).
# Idempotent: does nothing when /usr/bin/chromium is already there. Debian's package, installed
# with apt-get (needs root, or sudo without a password); without either it says so and exits 0, and
# the browser test is then skipped, never faked.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "browser: not root and no password-less sudo: chromium not installed (browser tests skip)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "browser: no apt-get (not Debian/Ubuntu): chromium not installed (browser tests skip)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')"
