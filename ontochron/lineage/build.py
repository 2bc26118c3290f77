"""Chain the links of consecutive checkpoints into lineages with ids, events and drift."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ontochron.errors import InputError
from ontochron.lineage.match import Links, link, unit_rows
from ontochron.lineage.null import link_threshold
from ontochron.lineage.result import EVENT_KINDS, Lineage, LineageEvent

MATCH_ON = ("decoder", "encoder")


def directions(dic: Any, on: str = "decoder") -> np.ndarray:
    """The unit directions a dictionary is matched on: decoder rows or encoder columns."""
    if on == "decoder":
        return unit_rows(dic.W_dec)
    if on == "encoder":
        if dic.W_enc is None:
            raise InputError("--match-on encoder needs an encoder", dic.path)
        return unit_rows(dic.W_enc.T)
    raise InputError(f"match on must be one of {MATCH_ON}, got {on!r}")


def pair_link(A: np.ndarray, B: np.ndarray, step: int, *, null: str = "both",
              alpha: float = 0.001, null_rows: int = 4096, topk: int = 8,
              device: str = "cpu", space: Any = None) -> tuple[float, dict[str, Any], Links]:
    """(threshold, null info, links) of one consecutive pair: a pure function of the two
    checkpoints (the null's random stream has a fixed seed), so it runs on a cluster alike."""
    if space is None:
        thr, info = link_threshold(A, B, null=null, alpha=alpha, null_rows=null_rows)
        resid = None
    else:
        A, B = space.pair(A, B)
        thr, info, resid = space.threshold(A, B, int(step))
    lk = link(A, B, thr, topk=topk, device=device, alpha=alpha, resid_threshold=resid)
    return thr, info, lk


def build_lineage(items: Iterable[tuple[int, np.ndarray]], *, null: str = "both",
                  alpha: float = 0.001, null_rows: int = 4096, topk: int = 8,
                  device: str = "cpu", progress: Any = None, space: Any = None,
                  links: Iterator[tuple[float, dict[str, Any], Links]] | None = None
                  ) -> Lineage:
    """Lineage of ``(step, unit directions (n_t, d))`` in step order, one pair in memory at a
    time. Ids: the first checkpoint's latents get 0..n-1 in index order; at each later
    checkpoint the lineages that start there (births, split children, merged latents) get the
    next ids in dictionary index order. ``progress(step)`` is called after each checkpoint.

    ``space`` (e.g. :class:`ontochron.lineage.activations.ActivationSpace`) compares items that
    are not unit directions: ``space.pair(prev, cur)`` gives the unit rows of one pair,
    ``space.threshold(A, B, step)`` its (threshold, null info, residual threshold) and
    ``space.first_cos(first, cur)`` the row-wise similarity to the lineage's first item.
    ``links``: each consecutive pair's :func:`pair_link`, computed elsewhere (a cluster), in
    step order; the chaining here is the same either way."""
    steps: list[int] = []
    features: list[np.ndarray] = []
    cos_prev: list[np.ndarray] = []
    cos_first: list[np.ndarray] = []
    events: list[LineageEvent] = []
    pairs: list[dict[str, Any]] = []
    prev = first = None
    n_lineages = 0
    for step, U in items:
        n = U.shape[0]
        if prev is None:
            feats = np.arange(n, dtype=np.int64)
            n_lineages = n
            cp, cf = np.full(n, np.nan), np.ones(n)
            first = U.copy()
            events.extend(LineageEvent("birth", int(step), None, int(i)) for i in range(n))
        else:
            if links is not None:
                _, info, lk = next(links)
            else:
                _, info, lk = pair_link(prev, U, int(step), null=null, alpha=alpha,
                                        null_rows=null_rows, topk=topk, device=device,
                                        space=space)
            pf = features[-1]
            feats = np.full(n, -1, dtype=np.int64)
            cp, cf = np.full(n, np.nan), np.ones(n)
            new_first = U.copy()
            if lk.continues:
                ii, jj, cs = (np.asarray(x) for x in zip(*lk.continues, strict=True))
                ii, jj = ii.astype(np.int64), jj.astype(np.int64)
                feats[jj] = pf[ii]
                cp[jj] = cs
                new_first[jj] = first[ii]
                cf[jj] = np.clip(np.einsum("ij,ij->i", first[ii], U[jj]) if space is None
                                 else space.first_cos(first[ii], U[jj]), -1.0, 1.0)
            new = np.nonzero(feats < 0)[0]  # dictionary index order
            feats[new] = n_lineages + np.arange(new.size)
            n_lineages += int(new.size)
            evs = [LineageEvent("birth", int(step), None, int(feats[j])) for j in lk.births]
            evs += [LineageEvent("death", int(step), int(pf[i]), None) for i in lk.deaths]
            for i, kids in lk.splits:
                evs += [LineageEvent("split", int(step), int(pf[i]), int(feats[j]), cs)
                        for j, cs in kids]
            for parents, j in lk.merges:
                evs += [LineageEvent("merge", int(step), int(pf[i]), int(feats[j]), cs)
                        for i, cs in parents]
            events.extend(sorted(evs, key=_event_key))
            first = new_first
            info.update(lk.info, step=int(step))
            pairs.append(info)
        steps.append(int(step))
        features.append(feats)
        cos_prev.append(cp)
        cos_first.append(cf)
        prev = U
        if progress is not None:
            progress(step)
    if not steps:
        raise InputError("no checkpoints to build a lineage from")
    thr = max((p["threshold"] for p in pairs if p["threshold"] is not None),
              default=float("nan"))
    kind = null if space is None else space.kind
    null_info = {"kind": kind, "alpha": alpha, "quantile": 1.0 - alpha, "null_rows": null_rows,
                 "pairs": pairs}
    return Lineage(np.asarray(steps, dtype=np.int64), features, cos_prev, cos_first, events,
                   float(thr), null_info, int(n_lineages))


def _event_key(e: LineageEvent) -> tuple[int, int, int, int]:
    return (e.step, EVENT_KINDS.index(e.kind), -1 if e.source is None else e.source,
            -1 if e.target is None else e.target)
