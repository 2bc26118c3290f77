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
#: A latent whose decoder row (or encoder column) norm is at most this fraction of the
#: dictionary's median is dead: it writes (or reads) nothing, so it has no direction.
DEAD_RTOL = 1e-5


def negligible_rows(W: np.ndarray, rtol: float = DEAD_RTOL) -> np.ndarray:
    """Rows of ``W`` whose norm is at most ``rtol`` x the median non-zero row norm."""
    norms = np.linalg.norm(np.asarray(W, dtype=np.float64), axis=1)
    live = norms[norms > 0]
    return norms <= rtol * (float(np.median(live)) if live.size else 0.0)


def directions(dic: Any, on: str = "decoder") -> np.ndarray:
    """The unit directions a dictionary is matched on: decoder rows or encoder columns; the
    rows of dead latents (negligible decoder row or encoder column) are zero."""
    if on == "decoder":
        U = unit_rows(dic.W_dec)
    elif on == "encoder":
        if dic.W_enc is None:
            raise InputError("--match-on encoder needs an encoder", dic.path)
        U = unit_rows(dic.W_enc.T)
    else:
        raise InputError(f"match on must be one of {MATCH_ON}, got {on!r}")
    dead = negligible_rows(dic.W_dec)
    if dic.W_enc is not None:
        dead |= negligible_rows(np.asarray(dic.W_enc).T)
    U[dead] = 0.0
    return U


def _pair_links(A: np.ndarray, B: np.ndarray, step: int, space: Any, null: str, alpha: float,
                null_rows: int, topk: int, device: str) -> tuple[Links, dict[str, Any]]:
    """The links between the live rows of two checkpoints and the pair's null description;
    with no live latent on one side nothing can link (every live latent dies or is born)."""
    if A.shape[0] == 0 or B.shape[0] == 0:
        info: dict[str, Any] = {"kind": null if space is None else space.kind,
                                "threshold": None, "n_a": int(A.shape[0]),
                                "n_b": int(B.shape[0])}
        return Links(deaths=np.arange(A.shape[0]), births=np.arange(B.shape[0])), info
    if space is None:
        thr, info = link_threshold(A, B, null=null, alpha=alpha, null_rows=null_rows)
        resid = None
    else:
        A, B = space.pair(A, B)
        thr, info, resid = space.threshold(A, B, step)
    lk = link(A, B, thr, topk=topk, device=device, alpha=alpha, resid_threshold=resid)
    return lk, info


def _dead_rows(U: np.ndarray, space: Any = None) -> np.ndarray:
    """The dead rows of one checkpoint's item (all-zero directions, or ``space.dead``)."""
    return (space.dead(U) if space is not None else ~np.any(U != 0, axis=1)).astype(bool)


def pair_link(A: np.ndarray, B: np.ndarray, step: int, *, null: str = "both",
              alpha: float = 0.001, null_rows: int = 4096, topk: int = 8,
              device: str = "cpu", space: Any = None) -> tuple[Links, dict[str, Any]]:
    """(links between the live rows, null info) of one consecutive pair, as
    :func:`build_lineage` computes it: a pure function of the two checkpoints (the null's
    random stream has a fixed seed), so it runs on a cluster alike."""
    la, lb = np.flatnonzero(~_dead_rows(A, space)), np.flatnonzero(~_dead_rows(B, space))
    return _pair_links(A[la], B[lb], int(step), space, null, alpha, null_rows, topk, device)


def build_lineage(items: Iterable[tuple[int, np.ndarray]], *, null: str = "both",
                  alpha: float = 0.001, null_rows: int = 4096, topk: int = 8,
                  device: str = "cpu", progress: Any = None, space: Any = None,
                  links: Iterator[tuple[Links, dict[str, Any]]] | None = None
                  ) -> Lineage:
    """Lineage of ``(step, unit directions (n_t, d))`` in step order, one pair in memory at a
    time. Ids: the first checkpoint's latents get 0..n-1 in index order; at each later
    checkpoint the lineages that start there (births, split children, merged latents, newly
    dead latents) get the next ids in dictionary index order. ``progress(step)`` is called
    after each checkpoint.

    Dead latents (an all-zero row: see :func:`directions`; ``space.dead``) take no part in
    the matching: a latent dead at consecutive checkpoints at the same index is one *dead
    lineage* (no birth, no death, no drift); a live lineage whose latent goes dead dies once.
    The first checkpoint's latents are the initial lineages, not births.

    ``space`` (e.g. :class:`ontochron.lineage.activations.ActivationSpace`) compares items that
    are not unit directions: ``space.pair(prev, cur)`` gives the unit rows of one pair,
    ``space.threshold(A, B, step)`` its (threshold, null info, residual threshold),
    ``space.first_cos(first, cur)`` the row-wise similarity to the lineage's first item and
    ``space.dead(item)`` the dead rows of one item. ``links``: each consecutive pair's
    :func:`pair_link`, computed elsewhere (a cluster), in step order; the chaining here is
    the same either way."""
    steps: list[int] = []
    features: list[np.ndarray] = []
    cos_prev: list[np.ndarray] = []
    cos_first: list[np.ndarray] = []
    dead_masks: list[np.ndarray] = []
    events: list[LineageEvent] = []
    pairs: list[dict[str, Any]] = []
    prev = first = prev_dead = None
    n_lineages = 0
    for step, U in items:
        n = U.shape[0]
        dead = _dead_rows(U, space)
        live = np.flatnonzero(~dead)
        if prev is None:
            feats = np.arange(n, dtype=np.int64)
            n_lineages = n
            cp, cf = np.full(n, np.nan), np.ones(n)
            cf[dead] = np.nan
            first = U.copy()
        else:
            prev_live = np.flatnonzero(~prev_dead)
            if links is not None:
                lk, info = next(links)
            else:
                lk, info = _pair_links(prev[prev_live], U[live], int(step), space, null, alpha,
                                       null_rows, topk, device)
            pf = features[-1]
            feats = np.full(n, -1, dtype=np.int64)
            cp, cf = np.full(n, np.nan), np.ones(n)
            cf[dead] = np.nan
            new_first = U.copy()
            if lk.continues:
                ii, jj, cs = (np.asarray(x) for x in zip(*lk.continues, strict=True))
                ii, jj = prev_live[ii.astype(np.int64)], live[jj.astype(np.int64)]
                feats[jj] = pf[ii]
                cp[jj] = cs
                new_first[jj] = first[ii]
                cf[jj] = np.clip(np.einsum("ij,ij->i", first[ii], U[jj]) if space is None
                                 else space.first_cos(first[ii], U[jj]), -1.0, 1.0)
            still = np.flatnonzero(dead[:prev_dead.size] & prev_dead[:n])
            feats[still] = pf[still]  # dead at the same index as before: the same dead lineage
            new = np.nonzero(feats < 0)[0]  # dictionary index order
            feats[new] = n_lineages + np.arange(new.size)
            n_lineages += int(new.size)
            events.extend(_pair_events(int(step), lk, pf[prev_live], feats[live]))
            first = new_first
            info.update(lk.info, step=int(step), dead_a=int(prev_dead.sum()),
                        dead_b=int(dead.sum()))
            pairs.append(info)
        steps.append(int(step))
        features.append(feats)
        cos_prev.append(cp)
        cos_first.append(cf)
        dead_masks.append(dead)
        prev, prev_dead = U, dead
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
                   float(thr), null_info, int(n_lineages), dead=dead_masks)


def _pair_events(step: int, lk: Links, prev_ids: np.ndarray, ids: np.ndarray
                 ) -> list[LineageEvent]:
    """The births, deaths, splits and merges of one pair as lineage events, sorted;
    ``prev_ids`` / ``ids`` are the lineage ids of the live rows the links index."""
    evs = [LineageEvent("birth", step, None, int(ids[j])) for j in lk.births]
    evs += [LineageEvent("death", step, int(prev_ids[i]), None) for i in lk.deaths]
    for i, kids in lk.splits:
        evs += [LineageEvent("split", step, int(prev_ids[i]), int(ids[j]), cs)
                for j, cs in kids]
    for parents, j in lk.merges:
        evs += [LineageEvent("merge", step, int(prev_ids[i]), int(ids[j]), cs)
                for i, cs in parents]
    return sorted(evs, key=_event_key)


def _event_key(e: LineageEvent) -> tuple[int, int, int, int]:
    return (e.step, EVENT_KINDS.index(e.kind), -1 if e.source is None else e.source,
            -1 if e.target is None else e.target)
