#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine (Node 20 + npm only), then runs
# lint, format check, type check and every test (Node and Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM="npx --yes pnpm@10.34.9"

if ! command -v chromium >/dev/null 2>&1; then
  echo "[test] installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if ! command -v age >/dev/null 2>&1; then
  # The export tests decrypt archives with Debian's own `age` (interoperability, not our code).
  echo "[test] installing Debian's age for the export tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq age >/dev/null
fi

echo "[test] installing packages"
$PNPM install --frozen-lockfile

echo "[test] lint and format"
$PNPM exec eslint .
$PNPM exec prettier --check .

echo "[test] type check"
$PNPM -r run typecheck

echo "[test] tests"
$PNPM exec vitest run
