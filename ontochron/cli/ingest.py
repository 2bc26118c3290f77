"""``ontochron ingest``: write a run's temporal concept graph into the store, by diff
(idempotent, incremental when new checkpoints appear, safe to re-run after a crash)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ontochron.cli.analyze import add_source_arguments, add_threshold_arguments


def register(subparsers: Any) -> None:
    """Add the ``ingest`` sub-command."""
    from ontochron.cli.options import add_store_arguments, add_tensorboard_argument

    p = subparsers.add_parser(
        "ingest", help="write a run's temporal concept graph into the graph store",
        description="Load snapshots (file, directory or glob), detect the ontology and bring "
                    "the run's graph to exactly that state, writing only what changed. "
                    "Re-running is safe: after new checkpoints, or after an interrupted "
                    "ingest.")
    add_source_arguments(p)
    p.add_argument("--run", metavar="NAME", default=None,
                   help="run name and id in the graph (default: the source's name)")
    p.add_argument("--batch-size", type=int, default=20_000, metavar="N",
                   help="rows per write transaction (default 20000)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    add_threshold_arguments(p)
    from ontochron.cli.lineage import add_lineage_arguments

    add_lineage_arguments(p)
    add_tensorboard_argument(p)
    add_store_arguments(p)
    from ontochron.cli.options import add_scheduler_arguments

    add_scheduler_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the ingest and print what changed."""
    from ontochron.cli.analyze import ontology_config
    from ontochron.cli.lineage import lineage_options
    from ontochron.cli.options import scheduler_options
    from ontochron.errors import InputError
    from ontochron.graph.ingest import ingest
    from ontochron.graph.store import config_from_args

    if args.batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {args.batch_size}")
    # the source is loaded and analyzed before the store is opened: bad input fails fast
    report = ingest(args.source, run=args.run, store=config_from_args(args),
                    format=args.format, compat=args.compat, config=ontology_config(args),
                    progress=not args.quiet, batch_size=args.batch_size,
                    lineage_options=lineage_options(args), **scheduler_options(args))
    if args.tensorboard and report.ontology is not None and report.stack is not None:
        from ontochron.tensorboard_scalars import write_run_scalars

        write_run_scalars(args.tensorboard, report.ontology, report.stack, report.lineage)
    if not args.quiet:
        print(report.summary(), file=sys.stdout)
    return 0
