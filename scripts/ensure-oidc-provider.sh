#!/usr/bin/env bash
# The OIDC sign-in tests run against a real OpenID Provider, panva's certified `oidc-provider`
# (Node). Install it from tests/server/oidc_provider/package-lock.json when missing; needs node
# and npm (Debian: apt-get install -y nodejs npm).
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/server/oidc_provider"
if [ -d "$dir/node_modules/oidc-provider" ]; then exit 0; fi
if ! command -v npm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q nodejs npm >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q nodejs npm >/dev/null; }
fi
echo "installing the test OpenID Provider (oidc-provider) into $dir/node_modules"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
