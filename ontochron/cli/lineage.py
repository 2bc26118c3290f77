"""``ontochron lineage``: match per-checkpoint dictionaries into feature lineages."""

from __future__ import annotations

import argparse
import sys
from typing import Any

NULLS = ("both", "random", "permuted")
LAYOUTS = ("auto", "saelens", "sparsify", "dictionary_learning", "gemmascope")


def add_lineage_arguments(p: argparse.ArgumentParser, device: bool = True) -> None:
    """Matching options shared by ``lineage``, ``compare``, ``analyze`` and ``ingest`` (which
    match only on a directory of per-checkpoint dictionaries); ``device=False`` where the
    command already has --device."""
    g = p.add_argument_group("feature matching (directories of per-checkpoint SAEs)")
    g.add_argument("--match-on", choices=("decoder", "encoder", "activations"),
                   default="decoder",
                   help="what is compared: decoder rows (default) or encoder columns of "
                        "per-checkpoint SAEs, or (a codes source) each feature's activation "
                        "pattern over the probe concepts")
    g.add_argument("--values", choices=("auto", "activations", "codes"), default="auto",
                   help="with --match-on activations: continuous activations or 0/1 codes "
                        "(auto: activations when every checkpoint has them)")
    g.add_argument("--null", choices=NULLS, default="both",
                   help="null of the link threshold: random directions, the dictionaries "
                        "with permuted dimensions, or the stricter of both (default)")
    g.add_argument("--null-alpha", type=float, default=0.001, metavar="A",
                   help="chance that a latent with no true partner gets a link (default "
                        "0.001: the threshold is the 99.9%% quantile of the null best cosine)")
    g.add_argument("--null-rows", type=int, default=4096, metavar="N",
                   help="latents per side sampled for the permuted null (default 4096)")
    g.add_argument("--topk", type=int, default=8, metavar="K",
                   help="candidate partners kept per latent above threshold (default 8)")
    g.add_argument("--sae", metavar="PATH", default=None,
                   help="relative path or glob of the SAE inside each checkpoint folder, when "
                        "one holds several (hookpoints, trainers); found without it when "
                        "there is one")
    if device:
        g.add_argument("--device", default="cpu",
                       help="cpu or cuda[:n] for the cosine products")


def lineage_options(args: argparse.Namespace) -> dict[str, Any]:
    """build_lineage keyword arguments from :func:`add_lineage_arguments`."""
    from ontochron.errors import InputError

    if args.null_rows < 1 or args.topk < 1:
        raise InputError("--null-rows and --topk must be positive")
    opts = {"null": args.null, "alpha": args.null_alpha, "null_rows": args.null_rows,
            "topk": args.topk, "device": getattr(args, "device", "cpu"),
            "match_on": args.match_on, "sae": args.sae}
    if args.match_on == "activations":
        if args.sae:
            raise InputError("--sae picks the SAE in each checkpoint folder; --match-on "
                             "activations matches codes")
        opts["values"] = args.values
    elif args.values != "auto":
        raise InputError("--values goes with --match-on activations")
    return opts


def print_power_notes(lin: Any) -> None:
    """The power notes of an activation-matched lineage, one ``note:`` line each."""
    for note in (lin.extra.get("power") or {}).get("notes", []):
        print(f"note: {note}", file=sys.stderr)


def register(subparsers: Any) -> None:
    """Add the ``lineage`` sub-command."""
    p = subparsers.add_parser(
        "lineage", help="match per-checkpoint SAEs into feature lineages (splits, merges, drift)",
        description="Match the dictionaries of consecutive checkpoints (one SAE folder per "
                    "checkpoint: SAELens, sparsify, dictionary_learning or Gemma Scope), or "
                    "with --match-on activations the features of a codes source by their "
                    "activation patterns over the probe concepts, and write lineage.csv, "
                    "lineage_events.csv, drift.csv and summary.json.")
    p.add_argument("source", metavar="SOURCE",
                   help="directory of per-checkpoint SAE folders (or, with --match-on "
                        "activations, a codes file/directory/glob that analyze reads)")
    p.add_argument("--format", choices=("auto", "reptimeline", "npz", "safetensors"),
                   default="auto", help="codes format with --match-on activations")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--layout", choices=LAYOUTS, default="auto", help="dictionary layout")
    p.add_argument("--step-pattern", metavar="RE", default=None,
                   help="regex with one group reading the step from folder names")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_lineage_arguments(p)
    from ontochron.cli.options import add_scheduler_arguments

    add_scheduler_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Match, write, print the counts unless --quiet."""
    from tqdm.auto import tqdm

    from ontochron.cli.options import cluster_from_args
    from ontochron.ingest.dictionaries import dictionary_checkpoints
    from ontochron.lineage.files import write_lineage
    from ontochron.lineage.pipeline import lineage_of

    opts = lineage_options(args)
    source: Any = args.source
    if args.match_on == "activations":
        from ontochron.lineage.pipeline import codes_stack

        source = codes_stack(args.source, args.format, args.step_pattern)
        n = source.n_steps
    else:
        n = len(dictionary_checkpoints(args.source, args.step_pattern, args.sae))
    with cluster_from_args(args) as cluster, \
            tqdm(total=n, desc="checkpoints", unit="ckpt", disable=args.quiet) as bar:
        lin = lineage_of(source, layout=args.layout, step_pattern=args.step_pattern,
                         progress=lambda _s: bar.update(1), scheduler=cluster, **opts)
    paths = write_lineage(lin, args.out)
    if not args.quiet:
        s = lin.summary()
        c = s["counts"]
        print(f"{s['lineages']} lineages over {len(s['steps'])} checkpoints; threshold "
              f"{s['threshold'] if s['threshold'] is None else round(s['threshold'], 4)}; "
              + ", ".join(f"{k} {v}" for k, v in c.items()), file=sys.stderr)
        print_power_notes(lin)
        print(f"wrote {len(paths)} files to {args.out}", file=sys.stderr)
    return 0
