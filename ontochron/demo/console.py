"""What ``ontochron demo`` shows on the terminal: spinners while stages run, then the
summary, example findings, stable features, example query answers and stage lines. Kept apart
from the pipeline so the stages compute and this module only presents."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ontochron.ontology.intervals import OPEN

if TYPE_CHECKING:
    from ontochron.demo.pipeline import DemoResult


def make_console(quiet: bool) -> Any:
    from rich.console import Console

    return Console(quiet=quiet)


class spinner:
    """A rich spinner while ``quiet`` is False; nothing otherwise."""

    def __init__(self, con: Any, quiet: bool, text: str) -> None:
        self._cm = None if quiet else con.status(text)

    def __enter__(self) -> None:
        if self._cm is not None:
            self._cm.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._cm is not None:
            self._cm.__exit__(*exc)



COUNT_KEYS = ("births", "deaths", "connections", "phase_transitions", "duals", "dependencies",
              "triads", "hierarchy_edges")


def _fmt_interval(start: int, end: int) -> str:
    return f"[{start}, {'open' if end == OPEN else end})"


def example_lines(result: DemoResult, max_lines: int = 12) -> list[str]:
    """A few readable example events: first births of each digit, digit-digit connections,
    phase transitions."""
    ont = result.ontology
    index = {c: i for i, c in enumerate(ont.concepts)}
    digits = [index[d] for d in result.concept_groups["digits"] if d in index]
    lines: list[str] = []
    ev = ont.events
    births = ev.kind == "birth"
    for d in digits:
        m = births & (ev.concept == d)
        if m.any():
            first = int(ev.step[m].min())
            feats = np.unique(ev.feature[m & (ev.step == first)])
            lines.append(f"{ont.concepts[d]}: first bits born at step {first} "
                         f"(features {', '.join(map(str, feats[:6].tolist()))})")
    lines = lines[:4]
    conn = ont.relations.of_kind("connection")
    dset = np.asarray(digits)
    m = np.flatnonzero(np.isin(conn.a, dset) & np.isin(conn.b, dset))
    m = m[np.argsort(conn.valid_from[m], kind="stable")]
    d0, d6 = index.get("digit 0", -2), index.get("digit 6", -2)
    pair = (((conn.a[m] == d0) & (conn.b[m] == d6)) | ((conn.a[m] == d6) & (conn.b[m] == d0)))
    for i in np.concatenate([m[~pair][:4], m[pair]]):
        a, b = int(conn.a[i]), int(conn.b[i])
        lines.append(f"{ont.concepts[a]} -- {ont.concepts[b]} connected "
                     f"{_fmt_interval(int(conn.valid_from[i]), int(conn.valid_to[i]))}")
    if d0 >= 0 and d6 >= 0:
        st = result.stack
        r0, r6 = st.concepts.index("digit 0"), st.concepts.index("digit 6")
        # shared bits of the pair at each checkpoint (T is small; one sparse row product each)
        shared = [int(st.codes[t][[r0]].multiply(st.codes[t][[r6]]).sum())
                  for t in range(st.n_steps)]
        verdict = "" if pair.any() else " (never more than chance, so never connected)"
        change = [i for i in range(len(shared)) if i == 0 or shared[i] != shared[i - 1]]
        lines.append("digit 0 & digit 6 share " + ", ".join(
            f"{shared[i]} bits from step {int(st.steps[i])}" for i in change) + verdict)
    pt = ev.kind == "phase_transition"
    for i in np.flatnonzero(pt)[:3]:
        try:
            det = json.loads(ev.detail[i] or "{}")
        except (TypeError, ValueError):
            det = {}
        lines.append(f"phase transition at step {int(ev.step[i])}: {det.get('metric', '?')} "
                     f"{det.get('direction', '')} (delta {det.get('delta', float('nan')):.3g})")
    return lines[:max_lines]


def top_stable_features(result: DemoResult, n: int = 5) -> list[dict[str, Any]]:
    """The ``n`` most stable features with their first-stable step, layer and the digit
    concepts that have them at the last checkpoint."""
    ont = result.ontology
    fs = ont.feature_stats
    stab = np.asarray(fs.get("stability", np.zeros(ont.n_features)), dtype=float)
    last = result.stack.dense(result.stack.n_steps - 1)
    index = {c: i for i, c in enumerate(result.stack.concepts)}
    digit_rows = np.array([index[d] for d in result.concept_groups["digits"]])
    alive = last.any(axis=0)
    order = np.lexsort((-last.sum(axis=0), -stab))
    order = order[alive[order]][:n]
    rows = []
    for f in order:
        on = [result.stack.concepts[r] for r in digit_rows[last[digit_rows, f]]]
        row = {"feature": int(f), "stability": float(stab[f]),
               "digits": [d.split()[-1] for d in on]}
        for k in ("first_stable_step", "layer", "birth_step"):
            if k in fs:
                row[k] = int(fs[k][f])
        rows.append(row)
    return rows


def print_summary(result: DemoResult, con: Any) -> None:
    """Print accuracy per checkpoint, counts, example events and the top stable features."""
    from rich.table import Table

    ont = result.ontology
    curves = ont.curves
    t = Table(title="Training checkpoints (held-out digits)")
    for col in ("step", "epoch", "train loss", "accuracy", "code density", "churn"):
        t.add_column(col, justify="right")
    steps = list(map(int, ont.steps))
    for r in result.records:
        ti = steps.index(r.step) if r.step in steps else None
        dens = curves.get("active_fraction")
        churn = curves.get("churn")
        t.add_row(str(r.step), str(r.epoch),
                  "-" if np.isnan(r.train_loss) else f"{r.train_loss:.3f}",
                  f"{r.test_accuracy:.3f}",
                  "-" if dens is None or ti is None else f"{dens[ti]:.3f}",
                  "-" if churn is None or ti is None else f"{churn[ti]:.3f}")
    con.print(t)
    groups = result.concept_groups
    c = Table(title=f"Ontology over {len(ont.steps)} checkpoints",
              caption=f"{ont.n_features} bits; {len(ont.concepts)} concepts = "
                      f"{len(groups['digits'])} digit classes + {len(groups['probes'])} "
                      "held-out images")
    c.add_column("count")
    c.add_column("value", justify="right")
    for k in COUNT_KEYS:
        label = k.replace("_", " ")
        if k == "connections":
            label += f" ({ont.summary['thresholds']['connection_null']} null)"
        c.add_row(label, str(ont.summary.get(k, "-")))
    con.print(c)
    con.print("[bold]Examples[/bold]")
    for line in example_lines(result):
        con.print(f"  {line}")
    s = Table(title="Most stable bits")
    for col in ("bit", "stability", "first stable", "layer", "digits with it (last ckpt)"):
        s.add_column(col)
    for row in top_stable_features(result):
        first = row.get("first_stable_step")
        s.add_row(str(row["feature"]), f"{row['stability']:.3f}",
                  "-" if first is None else ("never" if first < 0 else str(first)),
                  str(row.get("layer", "-")),
                  " ".join(row["digits"]) or "-")
    con.print(s)


def _print_query(q: dict[str, Any], con: Any, max_rows: int = 5) -> None:
    """An example query's first rows as a table of its non-empty columns."""
    from rich.table import Table

    if q["status"] != "ok":
        con.print(f"  query {q['title']}: {q['status']}")
        return
    rows = q["rows"][:max_rows]
    # leave out empty columns, and text columns that say the same on every row shown
    cols = [k for k in (rows[0] if rows else {}) if any(r.get(k) is not None for r in rows)
            and not (len(rows) > 1 and isinstance(rows[0][k], str)
                     and all(r.get(k) == rows[0][k] for r in rows))]
    t = Table(title=f"{q['title']} ({q['n_rows']} rows; first {len(rows)})")
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*("" if r.get(c) is None else f"{r[c]:.3g}" if isinstance(r[c], float)
                    else str(r[c]) for c in cols))
    con.print(t)


def _lineage_line(st: dict[str, Any]) -> str:
    """The lineage stage in a few lines: counts, one split or merge, one feature's drift."""
    c = st["counts"]
    lines = [f"{st['dictionaries']} SAEs ({st['d_sae']} latents, mean L0 {st['mean_l0']}) "
             f"matched into {st['lineages']} lineages (threshold {st['threshold']}): "
             f"{c.get('continue', 0)} continues, {c.get('birth', 0)} births, "
             f"{c.get('death', 0)} deaths, {c.get('split', 0)} split rows, "
             f"{c.get('merge', 0)} merge rows"]
    ex = st.get("example")
    if ex:
        lines.append(f"  {ex['kind']} at step {ex['step']}: lineage(s) "
                     f"{', '.join(map(str, ex['sources']))} -> "
                     f"{', '.join(map(str, ex['targets']))} (cosines {ex['cosines']})")
    dr = st.get("drift")
    if dr:
        lines.append(f"  drift of lineage {dr['feature']} (cosine to its first direction): "
                     + ", ".join(f"{p['step']}: {p['cos_first']}" for p in dr["path"]))
    return "\n".join(lines)


def _plots_line(st: dict[str, Any]) -> str:
    """Where the plots, the lineage pictures and the report went."""
    line = f"{st['files']} plot files; report {st['report']}"
    pics = st.get("lineage_pictures")
    if pics:
        pngs = [p for p in pics["files"] if p.endswith(".png")]
        line += (f"\n  lineage flow and drift of run {pics['run']!r} (also in the report): "
                 f"{', '.join(pngs)} (+ .html)")
    return line


def print_stages(result: DemoResult, con: Any) -> None:
    """One line per later stage, the causal bits and the example query answers."""
    for name, st in result.stages.items():
        status = st.get("status")
        colour = {"ok": "green", "failed": "red"}.get(status, "yellow")
        extra = st.get("error") or st.get("reason") or ""
        if name == "causal" and status == "ok":
            extra = (f"{st['n_causal']} of {st['n_tested']} bits causal at step {st['step']} "
                     f"(ablation raises their own digits' loss, BH q <= 0.05): "
                     f"{' '.join(map(str, st['causal_features'])) or 'none'}")
        if name == "lineage" and status == "ok":
            extra = _lineage_line(st)
        if name == "plots" and status == "ok":
            extra = _plots_line(st)
        if name == "graph" and status == "ok":
            extra = (f"run {st['run']!r} in {st['store']}; wrote "
                     f"{', '.join(st.get('exports', [])) or 'no exports'}")
        con.print(f"[{colour}]{name}: {status}[/{colour}] {extra}")
        for q in st.get("queries", []) if status == "ok" else []:
            _print_query(q, con)
        for q in (st.get("lineage_run") or {}).get("queries", []) if status == "ok" else []:
            _print_query(q, con)
    con.print(f"outputs in {result.out_dir} "
              f"(timings: {', '.join(f'{k} {v:.1f}s' for k, v in result.timings.items())})")
