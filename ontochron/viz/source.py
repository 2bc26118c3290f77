"""Where ``plot`` and ``report`` get their data: an analysis directory or a stored run."""

from __future__ import annotations

import argparse

from ontochron.errors import InputError
from ontochron.viz.data import PlotData, load_analysis


def load_from_args(args: argparse.Namespace) -> PlotData:
    """Plot data for the source chosen on the command line
    (``ontochron.cli.options.add_plot_source_arguments``)."""
    if args.analysis:
        return load_analysis(args.analysis)
    from ontochron.graph.store import open_store_from_args
    from ontochron.queries.library import resolve_run
    from ontochron.viz.graphdata import load_run

    with open_store_from_args(args) as store:
        run_id = resolve_run(store, args.run)
        data = load_run(store, run_id)
    if data is None:
        raise InputError(f"no run named {run_id!r} in the graph store")
    return data
