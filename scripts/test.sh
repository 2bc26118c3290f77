#!/usr/bin/env bash
# Run the whole test suite (the graph tests start their own ArcadeDB Bolt server on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
