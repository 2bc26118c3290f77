"""``ontochron bloom``: write a Neo4j Bloom perspective for the ontochron schema (categories
with captions and colours, relationship types, search phrases for the named queries)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bloom`` command."""
    p = subparsers.add_parser("bloom", help="write a Neo4j Bloom perspective (JSON)",
                              description=__doc__)
    p.add_argument("-o", "--output", default="perspective.json", metavar="PATH",
                   help="where to write it (default perspective.json)")
    p.add_argument("--name", default="ontochron", help="perspective name (default ontochron)")
    p.set_defaults(func=cmd_bloom)


def cmd_bloom(args: argparse.Namespace) -> int:
    from ontochron.queries.bloom import search_phrases, write_perspective

    path = write_perspective(args.output, name=args.name)
    print(f"{path}: Bloom perspective {args.name!r} with {len(search_phrases())} search phrases")
    return 0
