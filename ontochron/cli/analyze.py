"""``ontochron analyze``: load a run of snapshots, detect its ontology, write the outputs."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from ontochron.errors import InputError

# Input formats of ontochron.ingest.readers (spelled out here to keep CLI start-up light).
FORMATS = ("auto", "reptimeline", "npz", "safetensors")

# (flag, StructureConfig field, type, help)
_STRUCTURE_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--structure-alpha", "alpha", float, "BH level of the structure tests"),
    ("--min-support", "min_support", int, "fewest concepts with a feature for it to be tested"),
    ("--dual-max-phi", "dual_max_phi", float, "phi below which two features are duals"),
    ("--dep-confidence", "dep_confidence", float, "P(parent | child) for a dependency"),
    ("--stability-window", "stability_window", int, "checkpoints a feature must stay stable"),
    ("--max-triad-pairs", "max_triad_pairs", int, "cap on candidate pairs for triads"),
    ("--activity-strata", "activity_strata", int,
     "concept-activity strata of the structure tests (1: feature frequencies only)"),
)


def add_source_arguments(p: argparse.ArgumentParser) -> None:
    """SOURCE, ``--format`` and ``--compat``: how a run of snapshots is read and analysed
    (shared by ``analyze`` and ``ingest``)."""
    p.add_argument("source", metavar="SOURCE", help="snapshot file, directory or glob")
    p.add_argument("--format", choices=FORMATS, default="auto", help="input format")
    p.add_argument("--compat", choices=("reptimeline",), default=None,
                   help="reproduce reptimeline 0.2.2's definitions instead of native mode")


def register(subparsers: Any) -> None:
    """Add the ``analyze`` sub-command."""
    p = subparsers.add_parser(
        "analyze", help="detect births, deaths, connections, structure and phases in a run",
        description="Load snapshots (file, directory or glob), detect the ontology over "
                    "training and write summary.json plus CSV tables to --out.")
    add_source_arguments(p)
    p.add_argument("--step-pattern", metavar="RE", default=None,
                   help="regex with one group reading the step from file names")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--parquet", action="store_true", help="also write Parquet tables")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:n] for the heavy products")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="threads testing checkpoints in parallel, or with --scheduler local "
                        "the worker processes (default: usable CPUs, up to 8; results do "
                        "not depend on it)")
    from ontochron.cli.options import add_scheduler_arguments

    add_scheduler_arguments(p, workers=False)
    add_threshold_arguments(p)
    from ontochron.cli.lineage import add_lineage_arguments
    from ontochron.cli.options import add_tensorboard_argument

    add_lineage_arguments(p, device=False)
    add_tensorboard_argument(p)
    p.set_defaults(func=run)


def add_threshold_arguments(p: argparse.ArgumentParser) -> None:
    """The detection thresholds and switches of native mode (shared by ``analyze`` and
    ``ingest``); :func:`ontology_config` turns them into an OntologyConfig."""
    p.add_argument("--alpha", type=float, default=0.05, help="BH level of connections")
    p.add_argument("--connection-null",
                   choices=("auto", "bicm", "cbicm", "fdsm", "hypergeometric"),
                   default="auto",
                   help="null law of shared features: auto (by cost: fdsm where affordable, "
                        "else cbicm on dense codes, else bicm), bicm (keeps code sizes and "
                        "feature popularity in expectation), cbicm (bicm given each "
                        "concept's exact code size), fdsm (keeps both exactly; curveball "
                        "samples) or hypergeometric (every feature on somewhere equally "
                        "likely)")
    p.add_argument("--null-samples", type=int, default=None, metavar="N",
                   help="curveball samples per checkpoint of the fdsm null (default 2000; "
                        "its p-values are at least 1/(N+1))")
    p.add_argument("--min-shared", type=int, default=1,
                   help="fewest shared features for a connection")
    p.add_argument("--phase-rule", choices=("mad", "mean_std"), default="mad")
    p.add_argument("--phase-z", type=float, default=3.5, help="robust z of a phase transition")
    p.add_argument("--phase-sigma", type=float, default=2.0, help="sigmas for --phase-rule "
                   "mean_std")
    p.add_argument("--phase-min-delta", type=float, default=1e-9,
                   help="smallest curve change that can be a transition")
    p.add_argument("--no-connections", action="store_true", help="skip connection tests")
    p.add_argument("--no-structure", action="store_true",
                   help="skip duals, dependencies, triads and hierarchy")
    p.add_argument("--structure-at", dest="structure_at", choices=("all", "last"),
                   default=None, help="detect structure at every checkpoint (default) or "
                                      "at the last one only")
    for flag, _, typ, text in _STRUCTURE_FLAGS:
        p.add_argument(flag, type=typ, default=None, help=text)


def ontology_config(args: argparse.Namespace) -> Any:
    """OntologyConfig from the :func:`add_threshold_arguments` flags; bad values become
    InputError."""
    from ontochron.ontology.config import OntologyConfig

    try:
        extra = {} if args.null_samples is None else {"null_samples": args.null_samples}
        cfg = OntologyConfig(alpha=args.alpha, connection_null=args.connection_null,
                             min_shared=args.min_shared, **extra,
                             phase_rule=args.phase_rule, phase_z=args.phase_z,
                             phase_sigma=args.phase_sigma, phase_min_delta=args.phase_min_delta,
                             connections=not args.no_connections,
                             structure=not args.no_structure)
        changes = {name: getattr(args, flag[2:].replace("-", "_"))
                   for flag, name, _, _ in _STRUCTURE_FLAGS}
        changes["at"] = args.structure_at
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes and cfg.structure_config is not None:
            cfg.structure_config = dataclasses.replace(cfg.structure_config, **changes)
    except (ValueError, TypeError) as exc:
        raise InputError(f"invalid threshold: {exc}") from exc
    return cfg


def _print_summary(summary: dict[str, Any], paths: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ontochron analyze ({summary.get('mode', 'native')} mode)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("n_steps", "n_concepts", "n_features", "first_step", "last_step", "births",
                "deaths", "connections", "phase_transitions", "duals", "dependencies",
                "triads", "hierarchy_edges"):
        if key in summary:
            table.add_row(key, str(summary[key]))
    console = Console()
    console.print(table)
    out = next(iter(paths.values())).parent if paths else None
    console.print(f"wrote {len(paths)} files to {out}")
    print_power_notes(summary)


def print_power_notes(summary: dict[str, Any]) -> None:
    """The power notes of summary.json (families that could find nothing), once each, on
    stderr."""
    for note in (summary.get("power") or {}).get("notes", []):
        print(f"note: {note}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Load, analyze, write; print a summary table unless --quiet."""
    from ontochron.cli.options import cluster_from_args
    from ontochron.outputs import write_outputs

    config = ontology_config(args)
    with cluster_from_args(args) as cluster:
        stack, ontology, lineage = _load_and_analyze(args, config, cluster)
    paths = write_outputs(ontology, args.out, parquet=args.parquet, lineage=lineage)
    if args.tensorboard:
        from ontochron.tensorboard_scalars import write_run_scalars

        write_run_scalars(args.tensorboard, ontology, stack, lineage)
    if not args.quiet:
        _print_summary(ontology.summary, paths)
    return 0


def _load_and_analyze(args: argparse.Namespace, config: Any,
                      cluster: Any) -> tuple[Any, Any, Any]:
    """(stack, ontology, lineage or None) of the source, on ``cluster`` when given."""
    from ontochron.cli.lineage import lineage_options, print_power_notes
    from ontochron.lineage.pipeline import load_aligned
    from ontochron.ontology.analyze import analyze

    stack, lineage, _ = load_aligned(args.source, format=args.format,
                                     step_pattern=args.step_pattern, progress=not args.quiet,
                                     scheduler=cluster, **lineage_options(args))
    if not args.quiet:
        print(f"loaded {stack.n_steps} checkpoints, {stack.n_concepts} concepts, "
              f"{stack.n_features} features", file=sys.stderr)
        if lineage is not None:
            c = lineage.counts()
            what = ("features by activation pattern" if args.match_on == "activations"
                    else "per-checkpoint dictionaries")
            print(f"matched {what} into {lineage.n_lineages} lineages "
                  f"(threshold {lineage.threshold:.4f}; " + ", ".join(
                      f"{k} {v}" for k, v in c.items()) + ")", file=sys.stderr)
            print_power_notes(lineage)
    ontology = analyze(stack, config, compat=args.compat, progress=not args.quiet,
                       device=args.device, workers=args.workers, scheduler=cluster)
    return stack, ontology, lineage
