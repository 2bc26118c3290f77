"""The ``ontochron`` command line: one module per sub-command, each with ``register``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

from ontochron import __version__
from ontochron.errors import OntochronError

# Sub-command modules under ontochron.cli, in help order; each defines register(subparsers).
COMMANDS = ["demo", "analyze", "ingest", "watch", "store", "query", "export", "bloom", "label",
            "verify", "plot", "report", "lineage", "compare", "extract", "overlay"]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; given ``argv`` naming a sub-command, only that sub-command is
    registered (importing all of them costs ~0.1 s of every start-up)."""
    parser = argparse.ArgumentParser(
        prog="ontochron",
        description="Record how the concepts a network learns are born, connect, split and die "
                    "during training, as a temporal graph.")
    parser.add_argument("--version", action="version", version=f"ontochron {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    first = next((a for a in (argv or []) if not a.startswith("-")), None)
    for name in [first] if first in COMMANDS else COMMANDS:
        if importlib.util.find_spec(f"ontochron.cli.{name}") is not None:
            importlib.import_module(f"ontochron.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a sub-command; bad input gives one clear message and exit code 2."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # the driver logs each retry; its final error reaches us as one
        logging.getLogger("neo4j").setLevel(logging.CRITICAL)  # StoreError line
    from ontochron.graph.notice import set_start_notice

    # a first start of the embedded store is silent for seconds otherwise (stderr: the
    # command's own output stays clean; --quiet: nothing)
    set_start_notice(None if getattr(args, "quiet", False) else
                     lambda message: print(f"ontochron: {message}", file=sys.stderr,
                                           flush=True))
    try:
        return int(args.func(args) or 0)
    except OntochronError as exc:
        print(f"ontochron {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        set_start_notice(None)   # library calls after the command stay silent


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
