#!/usr/bin/env bash
# The UI tests drive Debian's Chromium through Playwright (`playwright install` cannot
# download browsers here). Install it when missing; needs root, as on CI.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
test -x /usr/bin/chromium
