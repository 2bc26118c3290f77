"""Where ``plot`` and ``report`` get their data: an analysis directory or a stored run."""

from __future__ import annotations

import argparse

from ontochron.errors import InputError
from ontochron.viz.data import PlotData, load_analysis


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """--analysis DIR | --run NAME (+ the graph store flags)."""
    from ontochron.graph.store import add_store_arguments

    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--analysis", metavar="DIR",
                     help="directory written by `ontochron analyze` (summary.json + CSVs)")
    src.add_argument("--run", metavar="NAME", help="a run stored in the graph")
    add_store_arguments(parser)
    parser.add_argument("--top", type=int, default=40, metavar="N",
                        help="show the N most active concepts/features per plot (default 40)")


def load_from_args(args: argparse.Namespace) -> PlotData:
    """Plot data for the source chosen on the command line."""
    if args.analysis:
        return load_analysis(args.analysis)
    from ontochron.graph.store import open_store_from_args
    from ontochron.viz.graphdata import load_run

    with open_store_from_args(args) as store:
        data = load_run(store, args.run)
    if data is None:
        raise InputError(f"no run named {args.run!r} in the graph store")
    return data
