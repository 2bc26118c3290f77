"""``ontochron compare``: match the latents of two separately trained dictionaries."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ontochron.cli.lineage import LAYOUTS, add_lineage_arguments, lineage_options


def register(subparsers: Any) -> None:
    """Add the ``compare`` sub-command."""
    from ontochron.cli.options import add_store_arguments

    p = subparsers.add_parser(
        "compare", help="match the latents of two SAEs (seeds, widths, layers)",
        description="Match two dictionaries on their directions and write matches.csv "
                    "(a,b,cosine,kind: same, split or merge) and summary.json (shared "
                    "fractions, orphans, splits, merges, threshold). With --run-a and --run-b "
                    "also write SAME_AS between the two runs' Features in the graph.")
    p.add_argument("sae_a", metavar="SAE_A", help="first dictionary folder")
    p.add_argument("sae_b", metavar="SAE_B", help="second dictionary folder")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--layout", choices=LAYOUTS, default="auto", help="dictionary layout")
    p.add_argument("--run-a", metavar="NAME", default=None, help="run of SAE_A in the store")
    p.add_argument("--run-b", metavar="NAME", default=None, help="run of SAE_B in the store")
    p.add_argument("--quiet", action="store_true", help="no summary")
    add_lineage_arguments(p)
    add_store_arguments(p)
    from ontochron.cli.options import add_scheduler_arguments

    add_scheduler_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compare, write the files, then (with both runs named) the SAME_AS relationships."""
    from ontochron.cli.options import scheduler_options
    from ontochron.errors import InputError
    from ontochron.lineage.compare import compare_dictionaries, write_compare

    if (args.run_a is None) != (args.run_b is None):
        raise InputError("--run-a and --run-b go together")
    opts = lineage_options(args)
    if opts["match_on"] == "activations":
        raise InputError("compare matches two dictionaries on decoder or encoder; "
                         "--match-on activations is for `ontochron lineage` on codes")
    rows, summary = compare_dictionaries(args.sae_a, args.sae_b, layout=args.layout,
                                         **scheduler_options(args), **opts)
    paths = write_compare(rows, summary, args.out)
    if args.run_a is not None:
        from ontochron.graph.lineage_write import write_same_as
        from ontochron.graph.store import open_store_from_args

        store = open_store_from_args(args)
        try:
            write_same_as(store, args.run_a, args.run_b, rows)
        finally:
            store.close()
    if not args.quiet:
        print(f"{summary['same']} same ({summary['shared_fraction_a']:.1%} of A, "
              f"{summary['shared_fraction_b']:.1%} of B), {summary['splits']} splits, "
              f"{summary['merges']} merges, orphans {summary['orphans_a']} A / "
              f"{summary['orphans_b']} B; threshold {summary['threshold']:.4f}",
              file=sys.stderr)
        print(f"wrote {len(paths)} files to {args.out}", file=sys.stderr)
    return 0
