"""``ontochron verify``: test which features are causal by intervention, at one checkpoint.

Built-in cases: the demo model (flip/zero a bottleneck bit, held-out digits as concepts) and a
SAELens-style SAE (zero-ablate a feature through its decoder on per-concept activations).
Results go to the terminal, optionally to summary.json (``causal``), a JSON file and the graph.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where it is used: parsing the CLI must stay light
    import numpy as np


from ontochron.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "verify", help="causal verification of features by intervention",
        description="Intervene on each feature (flip/zero a demo bottleneck bit, or zero-ablate "
                    "an SAE feature) and test whether its own concepts are affected more than "
                    "the others: bootstrap CI, permutation p-value, Benjamini-Hochberg q.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--demo-checkpoints", metavar="DIR",
                     help="directory of demo model_step{N}.pt checkpoints")
    src.add_argument("--sae", metavar="DIR", help="SAE folder of any layout ontochron reads "
                     "(SAELens, sparsify, dictionary_learning, Gemma Scope), or a checkpoint "
                     "folder holding one one level down (name the sub-folder itself, e.g. "
                     "DIR/trainer_3, when it holds several); needs --activations")
    p.add_argument("--activations", metavar="FILE.npz",
                   help="with --sae: one array (n_inputs, d_in) per concept name")
    p.add_argument("--at", type=int, default=None, metavar="STEP",
                   help="checkpoint step (demo: default latest; SAE: the step to record)")
    p.add_argument("--features", default=None, metavar="LIST",
                   help="features to test, e.g. '0,3,7' or '0-15' (default: all)")
    p.add_argument("--mode", choices=("flip", "zero"), default="flip", help="demo intervention")
    p.add_argument("--measure", choices=("loss", "kl"), default="loss", help="demo effect")
    p.add_argument("--n-resamples", type=int, default=999, metavar="N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alpha", type=float, default=0.05, help="FDR level (default 0.05)")
    p.add_argument("--alternative", choices=("greater", "two-sided", "less"), default="greater")
    p.add_argument("--unit", choices=("input", "concept"), default="input",
                   help="resampling unit: single inputs or per-concept means")
    p.add_argument("--summary", metavar="FILE", help="merge a 'causal' section into this "
                   "summary.json")
    p.add_argument("--json", metavar="FILE", help="write the full report as JSON")
    p.add_argument("--run", metavar="NAME", help="also write CausalTest nodes for this stored "
                   "run (graph store flags below)")
    from ontochron.cli.options import add_store_arguments

    add_store_arguments(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or table")
    p.set_defaults(func=run)


def parse_features(text: str | None) -> list[int] | None:
    """'0,3,7' / '0-15' / '1,4-6' -> sorted unique indices (None stays None)."""
    if text is None:
        return None
    out: set[int] = set()
    for part in (t.strip() for t in text.split(",")):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise InputError(f"bad --features entry {part!r} (use e.g. 0,3,7 or 0-15)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise InputError(f"bad --features range {part!r}")
        out.update(range(lo, hi + 1))
    return sorted(out)


def _demo_checkpoint(folder: str, at: int | None) -> tuple[Path, int]:
    d = Path(folder)
    found = {int(m.group(1)): f for f in d.glob("model_step*.pt")
             if (m := re.fullmatch(r"model_step(\d+)\.pt", f.name))} if d.is_dir() else {}
    if not found:
        raise InputError("no model_step{N}.pt checkpoints found", d)
    step = max(found) if at is None else at
    if step not in found:
        raise InputError(f"no checkpoint for step {step} (have {sorted(found)})", d)
    return found[step], step


def _verify_demo(args: argparse.Namespace, feats: list[int] | None, kw: dict[str, Any]):
    from ontochron.causal import verify_demo
    from ontochron.demo import model as demo_model

    path, step = _demo_checkpoint(args.demo_checkpoints, args.at)
    data = demo_model.load_digits_split(seed=args.seed)
    try:
        from ontochron.demo import DIGIT_CONCEPT as name_fmt
    except ImportError:  # pragma: no cover - the demo module is optional here
        name_fmt = "digit {}"
    return verify_demo(demo_model.load_demo_model(path), data.x_test, data.y_test, step=step,
                       features=feats, concept_name=name_fmt.format, mode=args.mode,
                       measure=args.measure, **kw)


def load_activations(path: str, d_in: int) -> dict[str, np.ndarray]:
    """Concept name -> (n_inputs, d_in) activations from an .npz; InputError naming the file
    when it is unreadable, not an .npz archive, empty, or an array has the wrong shape."""
    import numpy as np

    from ontochron.npzinput import check_npz_file

    try:
        check_npz_file(path)
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read activations: {exc}", path) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputError("activations must be an .npz archive of one array per concept, "
                         "not an .npy array", path)
    try:
        with loaded as npz:
            acts = {k: np.asarray(npz[k]) for k in npz.files}
    except (OSError, ValueError) as exc:  # a corrupt member, or one holding pickled objects
        raise InputError(f"cannot read activations: {exc}", path) from None
    if not acts:
        raise InputError("no concept arrays in the file", path)
    for name, a in acts.items():
        if a.ndim not in (1, 2) or a.shape[-1] != d_in or a.size == 0 \
                or a.dtype.kind not in "fiu":
            raise InputError(f"concept {name!r}: expected numbers of shape (n_inputs, {d_in}) "
                             f"or ({d_in},) for the SAE's d_in={d_in}, got {a.dtype} "
                             f"{a.shape}", path)
    return acts


def _verify_sae(args: argparse.Namespace, feats: list[int] | None, kw: dict[str, Any]):
    from ontochron.causal import sae_ablation, verify_features
    from ontochron.ingest.extractors import SAEExtractor

    if not args.activations:
        raise InputError("--sae needs --activations FILE.npz (one array per concept)")
    sae = SAEExtractor.from_folder(args.sae)
    acts = load_activations(args.activations, sae.d_in)
    step = 0 if args.at is None else args.at
    snap = sae.snapshot(step, acts, source=args.activations)
    return verify_features(sae_ablation(sae, acts), snap, feats, method="sae_zero_ablation",
                           **kw)


def run(args: argparse.Namespace) -> int:
    import contextlib
    import sys

    from ontochron.causal.lineage_space import for_run, for_summary
    from ontochron.causal.persist import write_graph, write_summary

    feats = parse_features(args.features)
    if args.activations and not args.sae:
        raise InputError("--activations only applies with --sae")
    kw = {"n_resamples": args.n_resamples, "seed": args.seed, "alpha": args.alpha,
          "alternative": args.alternative, "unit": args.unit, "progress": not args.quiet}
    report = (_verify_demo if args.demo_checkpoints else _verify_sae)(args, feats, kw)
    with contextlib.ExitStack() as stack:
        # every target is mapped (latent -> lineage) before anything is written
        mapped = {}
        if args.summary:
            mapped["summary"] = for_summary(args.summary, report)
        if args.run:
            from ontochron.graph.store import open_store_from_args

            store = stack.enter_context(open_store_from_args(args))
            mapped["run"] = for_run(store, args.run, report)
        if args.summary:
            write_summary(args.summary, mapped["summary"])
        if args.json:
            Path(args.json).write_text(json.dumps(report.summary(), indent=2),
                                       encoding="utf-8")
        if args.run:
            write_graph(store, args.run, mapped["run"])
    if not args.quiet:
        _print(report)
    for target, rep in mapped.items():
        _print_mapping(target, rep, args, file=sys.stdout if not args.quiet else None)
    return 0


def _print_mapping(target: str, report: Any, args: argparse.Namespace, file: Any) -> None:
    """Say where a lineage-space target put the tested latents; latents without a lineage at
    the step are always reported (on stderr), never written."""
    import sys

    if report.space != "lineage":
        return
    where = f"run {args.run!r}" if target == "run" else str(args.summary)
    if file is not None and report.results:
        pairs = ", ".join(f"{r.dict_index}->{r.feature}" for r in report.results[:20])
        more = "" if len(report.results) <= 20 else f", ... ({len(report.results)} in all)"
        print(f"{where}: latents mapped to the lineages holding them at step {report.step} "
              f"(latent->lineage): {pairs}{more}", file=file)
    missing = report.config.get("no_lineage") or []
    if missing:
        print(f"ontochron verify: warning: {where}: {len(missing)} tested latent"
              f"{'s have' if len(missing) != 1 else ' has'} no lineage at step {report.step}, "
              f"not written: {missing}", file=sys.stderr)


def _print(report: Any) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"causal tests at step {report.step} ({report.method}, "
                    f"BH alpha={report.alpha})")
    for col in ("feature", "effect", "95% CI", "p", "q", "g", "selectivity", "causal"):
        t.add_column(col, justify="right")

    def f(x: float | None) -> str:
        return "-" if x is None or not np.isfinite(x) else f"{x:.3g}"

    for r in report.results:
        t.add_row(str(r.feature), f(r.effect), f"[{f(r.ci_low)}, {f(r.ci_high)}]", f(r.p),
                  f(r.q), f(r.hedges_g), f(r.selectivity), "yes" if r.causal else "")
    Console().print(t)
    print(f"{len(report.causal_features())} of {len(report)} features causal: "
          f"{report.causal_features()}")
