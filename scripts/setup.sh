#!/usr/bin/env bash
# Create .venv and install ontochron with its test extras. Idempotent; safe to re-run.
# torch is pinned to the CPU build first so that no CUDA packages are pulled in.
# Prints one short line per step (a first run takes minutes: mostly torch's download).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
step() { printf 'setup: %s\n' "$*"; }
SECONDS=0
if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv .venv
else
  step ".venv exists; checking its packages"
fi
PIP=".venv/bin/python -m pip"
$PIP install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
step "installing torch 2.13.0 (CPU build; the largest download, skipped when present)"
$PIP install -q --disable-pip-version-check "torch==2.13.0"
step "installing ontochron and its dependencies (.[test,parquet])"
$PIP install -q --disable-pip-version-check -e ".[test,parquet]"
if [ -f tools/cypher-lint/package.json ] && command -v npm >/dev/null 2>&1; then
  step "installing the Cypher linter (npm, tools/cypher-lint)"
  (cd tools/cypher-lint && npm install --silent --no-audit --no-fund >/dev/null)
fi
step "done in ${SECONDS}s"
