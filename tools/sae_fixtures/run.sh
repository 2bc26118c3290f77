#!/usr/bin/env bash
# Regenerate tests/fixtures/sae/ with the real SAE libraries, in a virtualenv of their own
# (default /work/genvenv, or $GENVENV), never the project's: the pinned versions below pull
# transformers, datasets, wandb... that ontochron does not need.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${GENVENV:-/work/genvenv}"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
# torch first and pinned, so that no resolver swaps in a CUDA build (or triton) on a CPU box
# (this project's machines resolve torch==2.13.0 to the CPU wheel; elsewhere pass e.g.
# PIP_EXTRA_INDEX_URL for the CPU wheels)
"$venv/bin/python" -m pip install -q "torch==2.13.0"
"$venv/bin/python" -m pip install -q "torch==2.13.0" -r "$here/requirements.txt"
# nnsight (pulled by dictionary-learning) drags in a torchvision built for another torch whose
# operators fail to register and break `import transformers`; nothing here needs torchvision
"$venv/bin/python" -m pip uninstall -y -q torchvision || true
"$venv/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
# set iteration order (SAELens writes inference cfg keys from a set): reproducible files
PYTHONHASHSEED=0 "$venv/bin/python" "$here/generate.py" "$@"
