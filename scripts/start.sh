#!/usr/bin/env bash
# Installs Carnet's packages and starts the relay (which also serves the web app) on an
# embedded SQLite database in ./data, listening on 127.0.0.1:8080 unless told otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM="npx --yes pnpm@10.34.9"
$PNPM install --frozen-lockfile
exec $PNPM exec tsx scripts/src/cli.ts server --data "${CARNET_DATA:-./data}" --port "${PORT:-8080}" "$@"
