#!/usr/bin/env bash
# Create .venv and install ontochron with its test extras. Idempotent; safe to re-run.
# torch is pinned to the CPU build first so that no CUDA packages are pulled in.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
$PIP install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
$PIP install -q --disable-pip-version-check "torch==2.13.0"
$PIP install -q --disable-pip-version-check -e ".[test,parquet]"
if [ -f tools/cypher-lint/package.json ] && command -v npm >/dev/null 2>&1; then
  (cd tools/cypher-lint && npm install --silent --no-audit --no-fund >/dev/null)
fi
