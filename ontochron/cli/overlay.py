"""``ontochron overlay``: hold a stated ontology (hypothesis file) against the learned one."""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "overlay", help="hold a hypothesis of named primitives against a run",
        description="Emergence of the stated primitives over training and a reconciliation "
                    "of expected with discovered relations at one step (docs/overlay.md).")
    p.add_argument("hypothesis", metavar="HYPOTHESIS",
                   help="hypothesis file (.json, .yaml/.yml, or reptimeline's primitivos.json)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--analysis", metavar="DIR", help="directory written by `ontochron analyze`")
    src.add_argument("--run", metavar="NAME", help="a run stored in the graph")
    from ontochron.cli.options import add_store_arguments

    add_store_arguments(p)
    p.add_argument("--at", type=int, default=None, metavar="STEP",
                   help="step to reconcile at (default the last checkpoint)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    p.add_argument("--no-write", action="store_true",
                   help="with --run: do not write Primitive nodes and EXPECTS_* intervals")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ontochron.overlay.files import write_overlay
    from ontochron.overlay.pipeline import overlay

    if args.analysis:
        res = overlay(args.hypothesis, analysis=args.analysis, at=args.at)
    else:
        from ontochron.graph.store import open_store_from_args

        with open_store_from_args(args) as store:
            res = overlay(args.hypothesis, run=args.run, store=store, at=args.at,
                          write=not args.no_write)
    write_overlay(res, args.out)
    if not args.quiet:
        a = res.agreement
        n = {k: sum(1 for v in res.expected if v.verdict == k)
             for k in ("found", "missing", "contradicted")}
        f1 = "n/a" if a.f1 is None else f"{a.f1:.3f}"
        print(f"step {res.step}: {n['found']} found, {n['missing']} missing, "
              f"{n['contradicted']} contradicted of {a.expected} expected relations; "
              f"F1 {f1}; {len(res.corrections)} suggested corrections; "
              f"report: {os.path.join(args.out, 'report.txt')}", file=sys.stdout)
    return 0
