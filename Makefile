# The two commands (see README): `make demo` sets up and runs the main job on the embedded
# default; `make test` sets up and runs the test suite. Both work on a fresh machine.
.PHONY: setup system-deps demo test lint

setup:
	bash scripts/setup.sh

system-deps:
	bash scripts/system-deps.sh

demo: setup
	.venv/bin/ontochron demo

test: system-deps setup
	bash scripts/test.sh

lint:
	.venv/bin/ruff check .
