"""``ontochron demo``: the whole pipeline end to end on real data, with no downloads.

Trains :class:`ontochron.demo.model.DemoNet` on scikit-learn's bundled digits, saves a
checkpoint per epoch, extracts the 32-bit bottleneck codes of held-out probe concepts through
the real ingest path, runs :func:`ontochron.ontology.analyze`, writes the analysis files and
interop snapshots, prints a summary, then runs the later stages in :data:`STAGES` (graph,
causal verification, plots), each of which may be switched off.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ontochron.demo.console import make_console, print_stages, print_summary, spinner
from ontochron.demo.model import (
    DigitsData,
    TrainRecord,
    bottleneck_probs,
    load_demo_model,
    load_digits_split,
    train_demo_model,
)
from ontochron.errors import InputError, OntochronError
from ontochron.ingest.checkpoints import discover_checkpoints, iter_extracted
from ontochron.ingest.extractors import BinaryExtractor
from ontochron.ingest.readers import save_npz, save_reptimeline_json
from ontochron.ingest.snapshot import CodeStack, Snapshot
from ontochron.ontology import OntologyConfig, analyze
from ontochron.ontology.result import Ontology
from ontochron.outputs import OUTPUT_NAMES, write_outputs

DIGIT_CONCEPT = "digit {}"
PROBE_CONCEPT = "{}#{:04d}"  # class # row of the image in sklearn's load_digits()
DEMO_RUN = "demo"
DEMO_SAE_RUN = "demo-sae"  # the per-checkpoint SAEs' run (lineage stage, then graph stage)


@dataclass(frozen=True)
class DemoOptions:
    """Settings of one demo run (validated); see :func:`run_demo`."""

    epochs: int = 16
    seed: int = 0
    probes_per_class: int | None = 20
    quiet: bool = False
    graph: bool = True
    causal: bool = True
    plots: bool = True
    store: Any = None  # URI string, an open GraphStore, or None (embedded in out_dir/store)
    lineage: bool = True  # per-checkpoint SAEs on the hidden layer and their lineage

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise InputError(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or self.epochs < 1:
            raise InputError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if self.probes_per_class is not None and (not isinstance(self.probes_per_class, int)
                                                  or self.probes_per_class < 0):
            raise InputError(f"probes_per_class must be an integer >= 0 or None, "
                             f"got {self.probes_per_class!r}")


@dataclass
class DemoResult:
    """What a demo run produced: paths, the ontology, accuracies and later-stage results."""

    out_dir: Path
    checkpoints: list[tuple[int, Path]]
    records: list[TrainRecord]
    stack: CodeStack
    ontology: Ontology
    paths: dict[str, Path]
    concept_groups: dict[str, list[str]]
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    causal: Any = None  # ontochron.causal.CausalReport once the causal stage has run
    lineage: Any = None  # ontochron.lineage Lineage of the per-checkpoint SAEs (lineage stage)
    lineage_stack: CodeStack | None = None  # the probes' SAE codes, columns = lineage ids
    lineage_ontology: Ontology | None = None  # analysis of lineage_stack (run demo-sae)

    @property
    def accuracies(self) -> dict[int, float]:
        """Held-out accuracy per checkpoint step."""
        return {r.step: r.test_accuracy for r in self.records}

    @property
    def failed_stages(self) -> list[str]:
        """Names of later stages that raised an ontochron error (the CLI then exits 1)."""
        return [n for n, s in self.stages.items() if s.get("status") == "failed"]


# --- concepts ------------------------------------------------------------------------------

def probe_concepts(data: DigitsData, probes_per_class: int | None
                   ) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Concept name -> rows of ``data.x_test`` that stand for it, and the concept groups.

    Ten aggregated concepts ("digit 3": every held-out image of class 3, majority vote) plus
    up to ``probes_per_class`` single held-out images per class ("3#0017").
    """
    rows: dict[str, np.ndarray] = {}
    digits, probes = [], []
    for k in range(10):  # ten classes, not a loop over concepts x features
        idx = np.flatnonzero(data.y_test == k)
        name = DIGIT_CONCEPT.format(k)
        rows[name] = idx
        digits.append(name)
        take = idx if probes_per_class is None else idx[:probes_per_class]
        for i in take:
            pname = PROBE_CONCEPT.format(k, int(data.test_index[i]))
            rows[pname] = np.array([i])
            probes.append(pname)
    return rows, {"digits": digits, "probes": probes}


def make_activations_fn(data: DigitsData, rows: Mapping[str, np.ndarray]
                        ) -> Callable[[Path], dict[str, np.ndarray]]:
    """``activations_fn`` for :func:`iter_extracted`: checkpoint -> bottleneck probabilities
    of each concept's held-out images (computed once per checkpoint for all images)."""

    def activations_fn(path: Path) -> dict[str, np.ndarray]:
        probs = bottleneck_probs(load_demo_model(path), data.x_test)
        return {name: probs[r] for name, r in rows.items()}

    return activations_fn


# --- the main job --------------------------------------------------------------------------

def _clean_checkpoints(ckpt_dir: Path) -> None:
    """Remove checkpoints of an earlier demo run so a shorter run does not mix with them."""
    if ckpt_dir.is_dir():
        for p in ckpt_dir.glob("model_step*.pt"):
            p.unlink()


# What the lineage stage writes (sae/, analysis-sae/, plots/demo-sae/): removed, by name only,
# when a run with lineage off reuses the directory, so nothing stale looks like this run's.
_SAE_FILES = ("cfg.json", "sae_weights.safetensors", "probe_activations.npz")
_LINEAGE_PICTURES = ("lineage.png", "lineage.html", "drift.png", "drift.html", "plotly.min.js")


def _remove_named(folder: Path, names: Iterable[str]) -> None:
    """Unlink ``names`` in ``folder`` and the folder itself once empty (other files stay)."""
    if not folder.is_dir():
        return
    for name in names:
        (folder / name).unlink(missing_ok=True)
    if not any(folder.iterdir()):
        folder.rmdir()


def _clean_lineage_outputs(out: Path) -> None:
    """Remove an earlier run's lineage-stage files from ``out`` (only the names it writes)."""
    if (out / "sae").is_dir():
        for old in (out / "sae").glob("step_*"):
            _remove_named(old, _SAE_FILES)
        _remove_named(out / "sae", ())
    _remove_named(out / "analysis-sae", OUTPUT_NAMES)
    _remove_named(out / "plots" / DEMO_SAE_RUN, _LINEAGE_PICTURES)


def run_demo(out_dir: str | os.PathLike[str] = "demo-out", *, epochs: int = 16, seed: int = 0,
             quiet: bool = False, graph: bool = True, causal: bool = True, plots: bool = True,
             probes_per_class: int | None = 20, store: Any = None,
             console: Any = None, lineage: bool = True) -> DemoResult:
    """Train, extract, analyze and write everything under ``out_dir``; return a DemoResult.

    ``graph``/``causal``/``plots`` switch the later stages of :data:`STAGES` on or off;
    ``store`` is a store URI or an open ``GraphStore`` for the graph stage (default: an
    embedded store in ``out_dir/store``).
    """
    opts = DemoOptions(epochs, seed, probes_per_class, quiet, graph, causal, plots, store,
                       lineage)
    out = Path(out_dir)
    ckpt_dir = out / "checkpoints"
    con = console if console is not None else make_console(quiet)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    data = load_digits_split(seed)
    _clean_checkpoints(ckpt_dir)
    if not lineage:
        _clean_lineage_outputs(out)
    with spinner(con, quiet, f"training on {data.y_train.size} digits for {epochs} epochs"):
        records = train_demo_model(data, ckpt_dir, epochs=epochs, seed=seed)
    timings["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rows, groups = probe_concepts(data, probes_per_class)
    checkpoints = discover_checkpoints(ckpt_dir)
    snapshots: list[Snapshot] = list(iter_extracted(
        checkpoints, make_activations_fn(data, rows), BinaryExtractor(threshold=0.5),
        aggregate="majority", progress=not quiet))
    stack = CodeStack.from_snapshots(snapshots)
    timings["extract"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ontology = analyze(stack, DEMO_CONFIG, progress=not quiet)
    timings["analyze"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    paths: dict[str, Path] = {"checkpoints": ckpt_dir}
    paths.update({f"analysis/{k}": Path(v) for k, v in write_outputs(ontology, out / "analysis")
                  .items()})
    snap_dir = out / "snapshots"
    snap_dir.mkdir(parents=True, exist_ok=True)
    save_reptimeline_json(snapshots, snap_dir / "reptimeline.json")
    save_npz(stack, snap_dir / "codes.npz")
    paths["snapshots/reptimeline.json"] = snap_dir / "reptimeline.json"
    paths["snapshots/codes.npz"] = snap_dir / "codes.npz"
    timings["write"] = time.perf_counter() - t0

    result = DemoResult(out, checkpoints, records, stack, ontology, paths, groups,
                        timings=timings)
    if not quiet:
        print_summary(result, con)
    _run_stages(result, opts, data, rows, con)
    result.paths["demo.json"] = _write_demo_json(result, opts)
    if not quiet:
        print_stages(result, con)
    return result


# --- later stages (the hook) ---------------------------------------------------------------

StageFn = Callable[["StageContext"], dict[str, Any]]


@dataclass
class StageContext:
    """What a later stage gets: the result so far, the options, the data and the console."""

    result: DemoResult
    options: DemoOptions
    data: DigitsData
    rows: Mapping[str, np.ndarray]
    console: Any


def _stage_graph(ctx: StageContext) -> dict[str, Any]:
    """Ingest the run into the graph store (embedded in ``out_dir/store`` by default), add the
    causal tests, and run the example queries."""
    from ontochron.graph.ingest import ingest
    from ontochron.graph.store import GraphStore, open_store

    res, opts = ctx.result, ctx.options
    given = opts.store if isinstance(opts.store, GraphStore) else None
    data_dir = res.out_dir / "store" if opts.store is None else None
    where = (f"embedded ({data_dir})" if data_dir is not None
             else "the given store" if given is not None else _redact(str(opts.store)))
    out: dict[str, Any] = {"status": "ok", "run": DEMO_RUN, "store": where}
    if given is None:
        with spinner(ctx.console, opts.quiet, "starting the graph store"):
            store = open_store(opts.store, data_dir=data_dir)
    else:
        store = given
    try:
        report = ingest(res.paths["snapshots/codes.npz"], run=DEMO_RUN, store=store,
                        config=DEMO_CONFIG, progress=not opts.quiet)
        out["ingest"] = _jsonable(report)
        if res.causal is not None:
            from ontochron.causal.persist import write_graph

            out["causal_tests_written"] = write_graph(store, DEMO_RUN, res.causal)
        out["queries"] = _example_queries(store, res)
        if res.lineage is not None:
            out["lineage_run"] = _ingest_lineage(store, res, opts)
        out["exports"] = _exports(store, res)
    finally:
        if given is None:
            store.close()
    if data_dir is not None:
        res.paths["store"] = data_dir
    return out


def _ingest_lineage(store: Any, res: DemoResult, opts: DemoOptions) -> dict[str, Any]:
    """Ingest the per-checkpoint SAEs' run (codes in lineage space, with its lineage) as run
    ``demo-sae`` and ask it the lineage queries."""
    from ontochron.graph.ingest import write_ontology
    from ontochron.queries.library import run_query

    assert res.lineage_stack is not None
    ont = res.lineage_ontology or analyze(res.lineage_stack, DEMO_CONFIG, progress=False)
    report = write_ontology(store, ont, res.lineage_stack, DEMO_SAE_RUN,
                            run_props={"name": DEMO_SAE_RUN, "source": str(res.paths["sae"])},
                            progress=not opts.quiet, lineage=res.lineage)
    steps = [int(s) for s in res.lineage.steps]
    shown = res.stages.get("lineage", {}).get("drift") or {}
    queries = []
    for title, name, params in (
            ("splits and merges over training", "splits_merges_between",
             {"from": steps[0], "to": steps[-1]}),
            ("features that formed abruptly or gradually", "feature_formation", {"limit": 10}),
            (f"drift of feature {shown.get('feature', 0)}", "feature_drift",
             {"feature": int(shown.get("feature", 0))})):
        qr = run_query(store, name, run_id=DEMO_SAE_RUN, **params)
        queries.append({"title": title, "query": name, "status": "ok", "n_rows": len(qr),
                        "rows": _jsonable(qr.records()[:10])})
    return {"run": DEMO_SAE_RUN, "rows_changed": report.changed, "queries": queries}


def _stage_lineage(ctx: StageContext) -> dict[str, Any]:
    """Train a small SAE per checkpoint on the hidden layer (each from its own random
    initialisation), write them in the SAELens layout with the probes' activations, then
    match them into a feature lineage (``ontochron.lineage``), analyse the probes' codes in
    lineage space (run ``demo-sae``) into ``analysis-sae/`` with the lineage files, and
    summarise it."""
    from ontochron.demo.sae import demo_lineage, summarize_lineage, train_checkpoint_saes

    res = ctx.result
    t0 = time.perf_counter()
    with spinner(ctx.console, ctx.options.quiet, "training one SAE per checkpoint"):
        saes = train_checkpoint_saes(res.checkpoints, ctx.data.x_train, ctx.data.x_test,
                                     ctx.rows, res.out_dir / "sae", seed=ctx.options.seed)
    res.paths["sae"] = res.out_dir / "sae"
    res.timings["sae_train"] = time.perf_counter() - t0
    out: dict[str, Any] = {"status": "ok", "dictionaries": len(saes),
                           "d_sae": _d_sae(saes[0].path),
                           "mean_l0": round(float(np.mean([s.l0 for s in saes])), 2),
                           "mean_mse": round(float(np.mean([s.mse for s in saes])), 5)}
    res.lineage_stack, res.lineage = demo_lineage(res.out_dir / "sae")
    out.update(summarize_lineage(res.lineage))
    res.lineage_ontology = analyze(res.lineage_stack, DEMO_CONFIG, progress=False)
    sae_dir = res.out_dir / "analysis-sae"
    write_outputs(res.lineage_ontology, sae_dir, lineage=res.lineage)
    res.paths["analysis-sae"] = sae_dir
    out["analysis"] = str(sae_dir)
    return out


def _d_sae(folder: Path) -> int:
    return int(json.loads((folder / "cfg.json").read_text(encoding="utf-8"))["d_sae"])


def _exports(store: Any, res: DemoResult) -> list[str]:
    """Export the demo graph for Gephi (GEXF with timeline spells) and Cytoscape (GraphML),
    and write a Neo4j Bloom perspective for the schema."""
    from ontochron.queries import export_subgraph, write_perspective

    written: list[Path] = []
    for fmt, name in (("gexf", "demo.gexf"), ("graphml", "demo.graphml")):
        written += export_subgraph(store, DEMO_RUN, fmt, res.out_dir / "export" / name)
    written.append(write_perspective(res.out_dir / "perspective.json"))
    res.paths["export"] = res.out_dir / "export"
    res.paths["perspective.json"] = res.out_dir / "perspective.json"
    return [str(p) for p in written]


def _redact(uri: str) -> str:
    """The URI without any user:password part, safe to print and to write to demo.json."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _example_queries(store: Any, res: DemoResult) -> list[dict[str, Any]]:
    """Run the named queries chosen for the demo (``ontochron.queries.library.demo_queries``)
    on the demo run; keep the first rows of each for printing and demo.json."""
    from ontochron.queries.library import demo_queries

    return [{"title": title, "query": qr.query, "status": "ok", "n_rows": len(qr),
             "rows": _jsonable(qr.records()[:10])}
            for title, qr in demo_queries(store, DEMO_RUN)]


def _stage_causal(ctx: StageContext) -> dict[str, Any]:
    """Zero-ablate each bit at the last checkpoint on every held-out image and test whether it
    raises the loss of the digit classes that have it more than that of the other classes;
    the report goes into summary.json (``causal``) and onto the graph when that stage runs."""
    from ontochron.causal.demo import verify_demo
    from ontochron.causal.persist import write_summary

    res = ctx.result
    last_step, last_path = res.checkpoints[-1]
    report = verify_demo(load_demo_model(last_path), ctx.data.x_test, ctx.data.y_test,
                         step=int(last_step), concept_name=DIGIT_CONCEPT.format, mode="zero",
                         seed=ctx.options.seed, progress=not ctx.options.quiet)
    res.causal = report
    write_summary(res.out_dir / "analysis" / "summary.json", report)
    summary = report.summary()
    return {"status": "ok", "step": int(last_step), "n_tested": summary["n_tested"],
            "n_causal": summary["n_causal"], "causal_features": summary["causal_features"]}


def _stage_plots(ctx: StageContext) -> dict[str, Any]:
    """Write every plot (PNG + interactive HTML) into ``plots/``, the lineage flow and drift
    of run ``demo-sae`` (when the lineage stage ran) into ``plots/demo-sae/``, and the
    one-file report with both runs' figures."""
    from ontochron.viz import LINEAGE_PLOTS, from_ontology, read_lineage_files, render_all
    from ontochron.viz.report import write_report

    res = ctx.result
    causal_rows = None if res.causal is None else res.causal.rows()
    data = from_ontology(res.ontology, causal=causal_rows, name=DEMO_RUN)
    written = render_all(data, res.out_dir / "plots")
    res.paths["plots"] = res.out_dir / "plots"
    out: dict[str, Any] = {"status": "ok", "files": len(written)}
    related = []
    if res.lineage_ontology is not None and "analysis-sae" in res.paths:
        # the lineage files the lineage stage wrote, read back by the plots' loader
        sae = from_ontology(res.lineage_ontology, name=DEMO_SAE_RUN,
                            lineage=read_lineage_files(res.paths["analysis-sae"]))
        lin_dir = res.out_dir / "plots" / DEMO_SAE_RUN
        lin_written = render_all(sae, lin_dir, plots=list(LINEAGE_PLOTS))
        related.append(sae)
        res.paths[f"plots/{DEMO_SAE_RUN}"] = lin_dir
        out["lineage_pictures"] = {"run": DEMO_SAE_RUN,
                                   "files": [str(p) for p in lin_written]}
    report = write_report(data, res.out_dir / "report.html", related=related)
    res.paths["report.html"] = report
    out["report"] = str(report)
    return out


# Later stages in order: (name, option that enables it, function). Append to plug in more.
STAGES: list[tuple[str, str, StageFn]] = [
    ("causal", "causal", _stage_causal),
    ("lineage", "lineage", _stage_lineage),
    ("graph", "graph", _stage_graph),
    ("plots", "plots", _stage_plots),
]


def _run_stages(result: DemoResult, opts: DemoOptions, data: DigitsData,
                rows: Mapping[str, np.ndarray], con: Any) -> None:
    """Run each enabled stage; a stage whose module is not installed yet is 'skipped', one
    that raises an ontochron error is 'failed' (reported, and the CLI exits non-zero)."""
    ctx = StageContext(result, opts, data, rows, con)
    for name, option, fn in STAGES:
        if not getattr(opts, option):
            result.stages[name] = {"status": "off"}
            continue
        t0 = time.perf_counter()
        try:
            result.stages[name] = fn(ctx)
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("ontochron"):
                raise
            result.stages[name] = {"status": "skipped", "reason": f"{exc.name} not available"}
        except (OntochronError, ImportError) as exc:
            result.stages[name] = {"status": "failed", "error": str(exc)}
        result.timings[name] = time.perf_counter() - t0


def _jsonable(obj: Any) -> Any:
    """A JSON-friendly view of a stage's report object (dataclass, mapping or plain value)."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        obj = asdict(obj)
    return _no_nan(json.loads(json.dumps(obj, default=str)))


def _no_nan(obj: Any) -> Any:
    """NaN/inf floats -> None, so demo.json is strict JSON."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _no_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_no_nan(v) for v in obj]
    return obj


def _write_demo_json(result: DemoResult, opts: DemoOptions) -> Path:
    """Write ``out_dir/demo.json``: settings, per-checkpoint accuracy, timings, stages."""
    doc = {
        "options": {k: getattr(opts, k) for k in ("epochs", "seed", "probes_per_class",
                                                  "graph", "causal", "plots", "lineage")},
        "dataset": "sklearn.datasets.load_digits (1,797 8x8 images, bundled)",
        "concepts": {g: len(v) for g, v in result.concept_groups.items()},
        "checkpoints": [{"step": r.step, "epoch": r.epoch, "path": str(r.path),
                         "train_loss": None if np.isnan(r.train_loss) else r.train_loss,
                         "test_accuracy": r.test_accuracy} for r in result.records],
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
        "stages": result.stages,
        "summary": result.ontology.summary,
    }
    path = result.out_dir / "demo.json"
    path.write_text(json.dumps(_jsonable(doc), indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")
    return path


# The defaults: on the demo's 32 dense bits "auto" takes the size-conditioned BiCM, which
# has power on dense codes (docs/definitions.md, "Choosing the connection null").
DEMO_CONFIG = OntologyConfig()
