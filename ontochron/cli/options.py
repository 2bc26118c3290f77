"""Command-line options shared by several sub-commands. Pure argparse: registering a command
must not import the graph driver or the plotting stack (they load only when a command runs)."""

from __future__ import annotations

import argparse
from typing import Any


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --store, --data-dir and --database to a sub-command's parser."""
    g = parser.add_argument_group("graph store")
    g.add_argument("--store", metavar="URI", default=None,
                   help="'embedded' (default) or a Bolt URI, e.g. neo4j://localhost:7687 "
                        "(default: $NEO4J_URI, else embedded); credentials from "
                        "$NEO4J_USERNAME / $NEO4J_PASSWORD")
    g.add_argument("--data-dir", metavar="DIR", default=None,
                   help="embedded store directory (default: $ONTOCHRON_DATA_DIR or "
                        "./.ontochron/store)")
    g.add_argument("--database", metavar="NAME", default=None,
                   help="database name (default: $NEO4J_DATABASE, the server default, or "
                        "'ontochron' for the embedded store)")


def add_plot_source_arguments(parser: argparse.ArgumentParser) -> None:
    """--analysis DIR | --run NAME (default: the only stored run; + the graph store flags) and --top, for plot and report."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--analysis", metavar="DIR",
                     help="directory written by `ontochron analyze` (summary.json + CSVs)")
    src.add_argument("--run", metavar="NAME",
                     help="a run stored in the graph (default, without --analysis: the only "
                          "run in the store)")
    add_store_arguments(parser)
    parser.add_argument("--top", type=int, default=40, metavar="N",
                        help="show the N most active concepts/features per plot (default 40)")


def add_scheduler_arguments(parser: argparse.ArgumentParser, workers: bool = True) -> None:
    """--scheduler ADDRESS|local (and --workers N unless the command has it already): run the
    per-checkpoint and per-pair work on a Dask cluster (docs/scale.md)."""
    g = parser.add_argument_group("cluster (Dask; docs/scale.md)")
    g.add_argument("--scheduler", metavar="ADDRESS|local", default=None,
                   help="run per-checkpoint work on a Dask cluster: a scheduler address "
                        "(tcp://host:8786) or 'local' (a LocalCluster of --workers "
                        "processes); default: in-process, or $DASK_SCHEDULER_ADDRESS when set. "
                        "Results do not depend on it")
    if workers:
        g.add_argument("--workers", type=int, default=None, metavar="N",
                       help="worker processes of --scheduler local (default: usable CPUs, "
                            "up to 8)")


def cluster_from_args(args: argparse.Namespace) -> Any:
    """The cluster of :func:`add_scheduler_arguments` as a context manager (yields None for an
    in-process run); an unreachable scheduler is one ClusterError line (exit 2)."""
    from ontochron.distributed import open_cluster

    return open_cluster(**scheduler_options(args))


def scheduler_options(args: argparse.Namespace) -> dict[str, Any]:
    """``scheduler=`` and ``workers=`` for the Python API from :func:`add_scheduler_arguments`
    (Dask's own log lines silenced unless --verbose: the CLI reports a failure in one line)."""
    import logging
    import os

    scheduler = getattr(args, "scheduler", None)
    if not getattr(args, "verbose", False) and (scheduler or
                                                os.environ.get("DASK_SCHEDULER_ADDRESS")):
        import distributed  # noqa: F401 - its import sets its loggers' levels; then ours

        for name in ["distributed", *logging.root.manager.loggerDict]:
            if name == "distributed" or name.startswith("distributed."):
                logging.getLogger(name).setLevel(logging.CRITICAL)
    return {"scheduler": getattr(args, "scheduler", None),
            "workers": getattr(args, "workers", None)}


def add_tensorboard_argument(parser: argparse.ArgumentParser) -> None:
    """--tensorboard DIR: per-checkpoint counts as TensorBoard scalars."""
    parser.add_argument("--tensorboard", metavar="DIR", default=None,
                        help="also write births, deaths, active features, connections formed "
                             "and broken, phase transitions (and lineage births, deaths, "
                             "splits, merges, mean drift) per checkpoint step as TensorBoard "
                             "scalars into DIR (tags ontochron/*)")
