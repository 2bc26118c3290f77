"""``ontochron export``: write a run's concept/feature subgraph (all of it, a time slice, a
step window, or the neighbourhood of a feature or concept) as GraphML, GEXF, JSON Lines
(APOC style), Cytoscape cyjs, a Cypher script or CSV tables."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` command."""
    from ontochron.cli.options import add_store_arguments
    from ontochron.queries.export import FORMATS, KINDS

    p = subparsers.add_parser("export", help="export a subgraph for Gephi, Cytoscape, Neo4j...",
                              description=__doc__)
    p.add_argument("--run", metavar="NAME", help="run id (default: the only run in the store)")
    when = p.add_argument_group("time (default: the whole run)")
    when.add_argument("--at", type=int, metavar="STEP", help="what holds at this step")
    when.add_argument("--from", dest="start", type=int, metavar="A",
                      help="what overlaps steps A..B (with --to)")
    when.add_argument("--to", dest="end", type=int, metavar="B")
    p.add_argument("--around", metavar="FEATURE_OR_CONCEPT",
                   help="only the neighbourhood of this feature index or concept name "
                        "(feature:N / concept:NAME to be explicit)")
    p.add_argument("--hops", type=int, default=1, help="neighbourhood radius (default 1)")
    p.add_argument("--kinds", metavar="K1,K2", default=None,
                   help=f"relation kinds to keep (default all): {','.join(KINDS)}")
    p.add_argument("--keep-isolated", action="store_true",
                   help="with --kinds: keep concepts that have no relationship of those kinds "
                        "(dropped by default)")
    p.add_argument("--format", "-f", required=True, choices=FORMATS,
                   help="graphml, gexf (with the timeline), json = JSON Lines: one APOC-style "
                        "node or relationship object per line (read it line by line, not "
                        "with one json.load), cyjs (Cytoscape), cypher (a script), csv (a "
                        "directory of nodes.csv and relationships.csv)")
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="output file (a directory for csv)")
    add_store_arguments(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from ontochron.graph.store import open_store_from_args
    from ontochron.queries.export import Window, export_subgraph, parse_kinds
    from ontochron.queries.library import resolve_run

    Window.of(args.at, args.start, args.end)  # bad options fail before connecting
    parse_kinds(args.kinds)
    with open_store_from_args(args) as store:
        run_id = resolve_run(store, args.run)
        files = export_subgraph(store, run_id, args.format, args.output, at=args.at,
                                start=args.start, end=args.end, around=args.around,
                                hops=args.hops, kinds=args.kinds,
                                keep_isolated=args.keep_isolated)
    for f in files:
        print(f)
    return 0
