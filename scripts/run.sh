#!/usr/bin/env bash
# Command 1: install what is missing, build, and run catalogd on its embedded default
# (a private PostgreSQL under ./var, no configuration needed). Extra arguments go to catalogd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh release
echo "catalogd: serving on ${CATALOGD_LISTEN:-127.0.0.1:8080}; tokens are in ${CATALOGD_DATA_DIR:-./var}/tokens.yaml (generated on first start); stop with Ctrl-C"
exec build/catalogd "$@"
