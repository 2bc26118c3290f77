"""``ontochron plot``: write PNG and interactive HTML views of a run."""

from __future__ import annotations

import argparse
import sys

from ontochron.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plot", help="draw swimlane, phase, churn, hierarchy and causal plots",
        description="Write PNG (matplotlib) and self-contained interactive HTML (plotly) plots "
                    "of a run: swimlane, phases, churn, hierarchy, causal.")
    from ontochron.cli.options import add_plot_source_arguments

    add_plot_source_arguments(p)
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    p.add_argument("--format", default="png,html", metavar="LIST",
                   help="comma-separated: png, html (default both)")
    p.add_argument("--plots", default=None, metavar="LIST",
                   help="comma-separated subset of swimlane,phases,churn,hierarchy,causal")
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

    data = load_from_args(args)
    paths = render_all(data, args.out, formats=_list(args.format) or [], top=args.top,
                       plots=_list(args.plots))
    if not args.quiet:
        for path in paths:
            print(path, file=sys.stdout)
    return 0
