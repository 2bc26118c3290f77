"""Command-line options shared by several sub-commands. Pure argparse: registering a command
must not import the graph driver or the plotting stack (they load only when a command runs)."""

from __future__ import annotations

import argparse


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


def add_tensorboard_argument(parser: argparse.ArgumentParser) -> None:
    """--tensorboard DIR: per-checkpoint counts as TensorBoard scalars."""
    parser.add_argument("--tensorboard", metavar="DIR", default=None,
                        help="also write births, deaths, active features, connections formed "
                             "and broken, phase transitions (and lineage births, deaths, "
                             "splits, merges, mean drift) per checkpoint step as TensorBoard "
                             "scalars into DIR (tags ontochron/*)")
