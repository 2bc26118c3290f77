"""``ontochron demo``: train a small digits model and run the whole pipeline on it."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command."""
    p = subparsers.add_parser(
        "demo", help="end-to-end demo on scikit-learn's bundled digits (no downloads)",
        description="Train a digits classifier with a 32-bit bottleneck on CPU, save a "
                    "checkpoint per epoch, extract concept codes, analyze the ontology, write "
                    "the outputs and (unless switched off) ingest it into the graph store, "
                    "verify causal bits and draw the report.")
    p.add_argument("--out", default="demo-out", metavar="DIR",
                   help="output directory (default: ./demo-out)")
    p.add_argument("--epochs", type=int, default=16, metavar="N",
                   help="training epochs, one checkpoint each plus step 0 (default: 16)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument("--probes-per-class", type=int, default=20, metavar="K",
                   help="single held-out images per digit class used as concepts "
                        "(default: 20; 0 for the ten digit classes only)")
    p.add_argument("--store", default=None, metavar="URI",
                   help="graph store URI (default: an embedded store in DIR/store)")
    p.add_argument("--no-graph", dest="graph", action="store_false",
                   help="skip graph ingest and the example queries")
    p.add_argument("--no-causal", dest="causal", action="store_false",
                   help="skip causal verification of the bits")
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   help="skip plots and the HTML report")
    p.add_argument("--no-lineage", dest="lineage", action="store_false",
                   help="skip the per-checkpoint SAEs and their feature lineage")
    p.add_argument("--quiet", action="store_true", help="no progress bars and no summary")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ontochron.demo import run_demo

    result = run_demo(args.out, epochs=args.epochs, seed=args.seed, quiet=args.quiet,
                      graph=args.graph, causal=args.causal, plots=args.plots, lineage=args.lineage,
                      probes_per_class=args.probes_per_class, store=args.store)
    return 1 if result.failed_stages else 0
