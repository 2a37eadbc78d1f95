#!/usr/bin/env bash
# Build the widget bundle (webchat/dist/kefu-widget.js). Called by the Makefile.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
