"""``ontochron plot``: write PNG and interactive HTML views of a run."""

from __future__ import annotations

import argparse
import sys

from ontochron.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plot", help="draw swimlane, phase, churn, hierarchy, causal, lineage and drift plots",
        description="Write PNG (matplotlib) and interactive HTML (plotly; every HTML file loads "
                    "plotly.min.js written once into the same directory, so it opens offline) "
                    "plots of a run: swimlane, phases, churn, hierarchy, causal, and lineage / "
                    "drift when the run has a lineage (lineage files, or a stored lineage run).")
    from ontochron.cli.options import add_plot_source_arguments

    add_plot_source_arguments(p)
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    p.add_argument("--format", default="png,html", metavar="LIST",
                   help="comma-separated: png, html (default both)")
    p.add_argument("--plots", default=None, metavar="LIST",
                   help="comma-separated subset of swimlane,phases,churn,hierarchy,causal,"
                        "lineage,drift (default: all; lineage,drift only for a lineage run)")
    p.add_argument("--concepts", default=None, metavar="LIST",
                   help="swimlane: only lanes of these concepts (comma-separated names)")
    p.add_argument("--features", default=None, metavar="LIST",
                   help="swimlane: only lanes of these feature ids (comma-separated)")
    p.add_argument("--label", default=None, metavar="TEXT",
                   help="swimlane: only lanes whose concept name or feature label contains "
                        "TEXT (case-insensitive)")
    p.add_argument("--color", default="drift", choices=("drift", "label", "family"),
                   help="lineage flow colour: cosine to the first direction (default), the "
                        "feature label, or the split/merge family")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def _list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise InputError(f"empty list {text!r}")
    return items


def run(args: argparse.Namespace) -> int:
    from ontochron.viz import render_all
    from ontochron.viz.source import load_from_args

    feats = _list(args.features)
    try:
        features = [int(x) for x in feats] if feats else None
    except ValueError:
        raise InputError(f"--features must be comma-separated integers, got {args.features!r}")\
            from None
    data = load_from_args(args)
    paths = render_all(data, args.out, formats=_list(args.format) or [], top=args.top,
                       plots=_list(args.plots), concepts=_list(args.concepts),
                       features=features, label=args.label, color=args.color)
    if not args.quiet:
        for path in paths:
            print(path, file=sys.stdout)
    return 0
