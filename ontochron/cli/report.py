"""``ontochron report``: one self-contained HTML report of a run."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="write one HTML report (a figure page) of a run",
        description="Write one HTML file: the summary table with definitions, every plot with "
                    "a caption (lineage flow and drift when the run has a lineage), an "
                    "interactive view of the ontology at a chosen step and the top events. "
                    "plotly.min.js is written next to it (loaded by relative path; no network "
                    "needed).")
    from ontochron.cli.options import add_plot_source_arguments

    add_plot_source_arguments(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="report.html to write")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ontochron.viz.report import write_report
    from ontochron.viz.source import load_from_args

    path = write_report(load_from_args(args), args.output, top=args.top)
    if not args.quiet:
        print(path)
    return 0
