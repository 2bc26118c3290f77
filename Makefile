# The two commands (see README): `make demo` sets up and runs the main job on the embedded
# default; `make test` sets up and runs the test suite. Both work on a fresh machine.
.PHONY: setup demo test lint bench
PY ?= .venv/bin/python

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/ontochron demo

test: setup
	bash scripts/test.sh

lint:
	.venv/bin/ruff check .
