"""Write an :class:`OverlayResult` as CSV/JSON tables and a readable text report,
atomically (a temporary sibling directory renamed into place)."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from ontochron.atomic import atomic_dir
from ontochron.jsonfiles import json_default
from ontochron.ontology.intervals import OPEN
from ontochron.overlay.result import OverlayResult

OVERLAY_FILES = ("overlay.json", "report.txt", "primitives.csv", "primitive_concepts.csv",
                 "layers.csv", "duals.csv", "expected.csv", "discovered.csv", "features.csv",
                 "corrections.csv", "history.csv")


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=json_default, sort_keys=True)
    return v


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([[_cell(v) for v in r] for r in rows])


def to_dict(res: OverlayResult) -> dict[str, Any]:
    """The result as one JSON-able object (what overlay.json holds)."""
    d = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)
         if f.name not in ("hypothesis", "concept_first", "history")}
    out = json.loads(json.dumps(
        {k: ([dataclasses.asdict(x) for x in v] if isinstance(v, list) and v and
             dataclasses.is_dataclass(v[0]) else
             dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v)
         for k, v in d.items()}, default=json_default))
    out["hypothesis"] = {"source": res.hypothesis.source,
                         "primitives": [dataclasses.asdict(p)
                                        for p in res.hypothesis.primitives]}
    return out


def report_text(res: OverlayResult) -> str:
    """A readable report: emergence, layer order, duals, verdicts, findings, corrections."""
    a = res.agreement
    lines = [f"ontochron overlay: {res.hypothesis.source} against {res.source}",
             f"reconciled at step {res.step} ({len(res.steps)} checkpoints, "
             f"{len(res.hypothesis.primitives)} primitives)", "",
             f"agreement: F1 = {_f(a.f1)} (precision {_f(a.precision)}, recall "
             f"{_f(a.recall)}; {a.matched} of {a.expected} expected relations found, "
             f"{a.discovered} discovered between assigned features)", "",
             "emergence (first active / stable / chain complete):"]
    for e in res.emergence:
        lines.append(f"  {e.name} (feature {e.feature}, layer {e.layer}): "
                     f"{_s(e.first_active_step)} / {_s(e.first_stable_step)} / "
                     f"{_s(e.chain_complete_step)}")
    lo = res.layers
    if lo.in_order is None:
        lines += ["", "layers stabilise in the stated order: no verdict (no evidence: "
                  f"{lo.concordant} concordant, {lo.discordant} discordant pairs; no two "
                  "primitives of different stated layers stabilise at different steps)"]
    else:
        lines += ["", "layers stabilise in the stated order: "
                  f"{'yes' if lo.in_order else 'no'} (Kendall tau {_f(lo.kendall_tau)}, "
                  f"one-sided p {_f(lo.p_value)}; {lo.concordant} concordant, "
                  f"{lo.discordant} discordant pairs)"]
    for ly in lo.layers:
        lines.append(f"  layer {ly.layer}: {ly.stable}/{len(ly.primitives)} stable, "
                     f"all stable at {_s(ly.complete_step)}")
    if res.duals:
        lines += ["", "expected duals (first significantly anti-correlated):"]
        for d in res.duals:
            lines.append(f"  {d.a} ~ {d.b}: {_s(d.first_step)} (phi {_f(d.phi)}, q "
                         f"{_f(d.q_value)}; {d.source})")
    lines += ["", f"expected relations at step {res.step}:"]
    for v in res.expected:
        arrow = "->" if v.kind == "dependency" else "~"
        lines.append(f"  [{v.verdict}] {v.kind} {v.a} {arrow} {v.b}: {v.reason}")
    unexp = [d for d in res.discovered if d.status == "unexpected"]
    if unexp:
        lines += ["", "unexpected discovered relations:"]
        for d in unexp:
            lines.append(f"  {d.kind} {d.a} {'->' if d.kind == 'dependency' else '~'} {d.b} "
                         f"(q {_f(d.evidence.get('q_value'))})")
    dead = [f for f in res.features if f.kind == "dead_but_assigned"]
    unas = [f for f in res.features if f.kind == "active_but_unassigned"]
    dead_s = ", ".join(f"{f.primitive} ({f.feature})" for f in dead) or "none"
    lines += ["", f"dead but assigned: {dead_s}",
              f"active but unassigned: {len(unas)} feature(s)"
              + (": " + ", ".join(str(f.feature) for f in unas[:20]) if unas else "")
              + (" ..." if len(unas) > 20 else "")]
    if res.corrections:
        lines += ["", "suggested corrections:"]
        for c in res.corrections:
            lines.append(f"  [{c.target}] {c.action}: {c.detail}")
    return "\n".join(lines) + "\n"


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def _s(x: int | None) -> str:
    return "never" if x is None else str(x)


def write_overlay(res: OverlayResult, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write every overlay file into ``out_dir`` (replaced only if it holds overlay files)."""
    def fill(tmp: Path) -> None:
        (tmp / "overlay.json").write_text(json.dumps(to_dict(res), indent=1) + "\n",
                                          encoding="utf-8")
        (tmp / "report.txt").write_text(report_text(res), encoding="utf-8")
        _write(tmp / "primitives.csv",
               ["name", "feature", "layer", "first_active_step", "first_stable_step",
                "chain_complete_step", "chain_joint_step", "chain", "active_concepts"],
               [[e.name, e.feature, e.layer, e.first_active_step, e.first_stable_step,
                 e.chain_complete_step, e.chain_joint_step, ";".join(e.chain),
                 e.active_concepts] for e in res.emergence])
        _write(tmp / "primitive_concepts.csv", ["primitive", "concept", "first_step"],
               [list(r) for r in res.concept_first])
        _write(tmp / "layers.csv", ["layer", "primitives", "stable", "first_step",
                                    "median_step", "complete_step"],
               [[ly.layer, ";".join(ly.primitives), ly.stable, ly.first_step, ly.median_step,
                 ly.complete_step] for ly in res.layers.layers])
        _write(tmp / "duals.csv", ["a", "b", "feature_a", "feature_b", "first_step", "phi",
                                   "q_value", "intervals", "holds", "source"],
               [list(dataclasses.astuple(d)) for d in res.duals])
        ev_keys = ["n", "n_a", "n_b", "n_ab", "phi", "confidence", "q_contra"]
        _write(tmp / "expected.csv", ["kind", "a", "b", "feature_a", "feature_b", "verdict",
                                      "reason", *ev_keys, "evidence"],
               [[v.kind, v.a, v.b, v.feature_a, v.feature_b, v.verdict, v.reason,
                 *(v.evidence.get(k) for k in ev_keys), v.evidence] for v in res.expected])
        _write(tmp / "discovered.csv", ["kind", "feature_a", "feature_b", "a", "b", "status",
                                        "phi", "confidence", "q_value", "evidence"],
               [[d.kind, d.feature_a, d.feature_b, d.a, d.b, d.status, d.evidence.get("phi"),
                 d.evidence.get("confidence"), d.evidence.get("q_value"), d.evidence]
                for d in res.discovered])
        _write(tmp / "features.csv", ["kind", "feature", "primitive", "active_concepts",
                                      "last_active_step"],
               [list(dataclasses.astuple(f)) for f in res.features])
        _write(tmp / "corrections.csv", ["target", "action", "subject", "detail", "evidence"],
               [[c.target, c.action, c.subject, c.detail, c.evidence]
                for c in res.corrections])
        _write(tmp / "history.csv", ["kind", "a", "b", "verdict", "valid_from", "valid_to"],
               [[h.kind, h.a, h.b, h.verdict, h.valid_from,
                 None if h.valid_to == OPEN else h.valid_to] for h in res.history])

    out = atomic_dir(out_dir, OVERLAY_FILES, fill)
    return {n: out / n for n in OVERLAY_FILES}
