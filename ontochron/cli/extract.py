"""``ontochron extract``: SAE codes of probe activations, one checkpoint at a time, written
as the whole-run npz that ``analyze`` and ``ingest`` read."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ontochron.cli.lineage import LAYOUTS


def register(subparsers: Any) -> None:
    """Add the ``extract`` sub-command."""
    p = subparsers.add_parser(
        "extract", help="encode probe activations with each checkpoint's SAE into a codes file",
        description="Encode the probe activations of PROBES.npz (concepts (C,), activations "
                    "(C, d_in) or (C, n, d_in)) with the SAE of every checkpoint, exactly as "
                    "the SAE's library encodes, and write steps, concepts, codes (T, C, F) and "
                    "activations (T, C, F) to CODES.npz.")
    p.add_argument("source", metavar="SAE_SOURCE",
                   help="one SAE folder, or a directory of per-checkpoint SAE folders")
    p.add_argument("--probes", required=True, metavar="PROBES.npz",
                   help="npz with 'concepts' and 'activations'")
    p.add_argument("--out", required=True, metavar="CODES.npz", help="output npz")
    p.add_argument("--layout", choices=LAYOUTS, default="auto", help="SAE layout")
    p.add_argument("--sae", metavar="PATH", default=None,
                   help="relative path or glob of the SAE inside each checkpoint folder "
                        "(when one holds several)")
    p.add_argument("--step-pattern", metavar="RE", default=None,
                   help="regex with one group reading the step from folder names")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    from ontochron.cli.options import add_scheduler_arguments

    add_scheduler_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Extract, write, print the shape unless --quiet."""
    from tqdm.auto import tqdm

    from ontochron.cli.options import cluster_from_args
    from ontochron.errors import InputError
    from ontochron.ingest.extract import extract, extract_checkpoints, read_probes
    from ontochron.sae.load import find_sae, load_sae

    probes = read_probes(args.probes)
    ckpts = extract_checkpoints(args.source, args.step_pattern, args.sae)
    # bad input fails before the progress bar starts: every checkpoint's SAE is found and
    # the first one read
    for _, folder in ckpts:
        find_sae(folder, args.sae)
    first = load_sae(ckpts[0][1], args.layout, args.sae)
    if first.d_in != probes.d_in:
        raise InputError(f"the probes have d_in={probes.d_in} but the SAE reads "
                         f"d_in={first.d_in}", first.path)
    n = len(ckpts)
    with cluster_from_args(args) as cluster, \
            tqdm(total=n, desc="checkpoints", unit="ckpt", disable=args.quiet) as bar:
        arrays = extract(args.source, probes, args.out, layout=args.layout, sae=args.sae,
                         step_pattern=args.step_pattern, progress=lambda _s: bar.update(1),
                         scheduler=cluster)
    if not args.quiet:
        t, c, f = arrays["codes"].shape
        print(f"wrote {t} checkpoint(s) x {c} concepts x {f} latents to {args.out}",
              file=sys.stderr)
    return 0
