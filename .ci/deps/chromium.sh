#!/bin/sh
# Chromium (driven by Playwright in tests/ui/) and a Chinese font, so the workspace's screenshots show text.
# Idempotent: does nothing when both are already there. Never `playwright install`: Debian's build is used.
set -eu
have_chromium() { [ -x /usr/bin/chromium ]; }
have_cjk_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; }
have_chromium && have_cjk_font && exit 0
echo "Chromium or a Chinese font not found: installing Debian's chromium and fonts-noto-cjk" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y chromium fonts-noto-cjk >/dev/null 2>&1 \
        || { apt-get update >/dev/null && apt-get install -y chromium fonts-noto-cjk >/dev/null; } || true
fi
have_chromium && have_cjk_font && exit 0
echo "Chromium and a Chinese font are needed by the browser tests and could not be installed. Run: apt-get update && apt-get install -y chromium fonts-noto-cjk" >&2
exit 1
