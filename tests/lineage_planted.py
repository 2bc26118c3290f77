"""Planted dictionaries with a known lineage, and writers of the four SAE layouts on disk."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _drift(v: np.ndarray, cos: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at cosine ``cos`` from unit ``v`` in a random orthogonal direction."""
    u = rng.standard_normal(v.shape)
    u -= (u @ v) * v
    u = _unit(u)
    return cos * v + np.sqrt(1 - cos ** 2) * u


@dataclass
class Planted:
    """Decoders per step (rows shuffled) and the true links between consecutive steps, in
    row indices: sets of (i, j) per kind, births {j}, deaths {i}."""

    decoders: list[np.ndarray] = field(default_factory=list)
    truth: list[dict[str, set]] = field(default_factory=list)


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV file the lineage commands wrote."""
    with open(path, newline="") as fh:
        r = csv.reader(fh)
        return next(r), list(r)


def true_links(src: list[tuple[str, tuple]], pos: np.ndarray, new_pos: np.ndarray,
               deaths) -> dict[str, set]:
    """The planted links of one step in shuffled positions: ``src[j]`` says how new row j
    came about (kind, parent rows); ``pos``/``new_pos`` map unshuffled rows to positions."""
    links: dict[str, set] = {k: set() for k in ("continue", "split", "merge", "birth")}
    for j, (kind, parents) in enumerate(src):
        if kind == "birth":
            links["birth"].add(int(new_pos[j]))
        for i in parents:
            links[kind].add((int(pos[i]), int(new_pos[j])))
    links["death"] = {int(pos[i]) for i in deaths}
    return links


def check_recovery(score: dict[str, tuple[int, int, int]] | dict[str, list[int]]) -> None:
    """Issue 10's bars on (true positives, predicted, true) per kind: precision and recall
    >= 0.95 for continues, >= 0.9 for the other kinds."""
    for kind, (tp, npred, ntrue) in score.items():
        need = 0.95 if kind == "continue" else 0.9
        assert ntrue > 0
        assert tp / max(npred, 1) >= need, (kind, score[kind])
        assert tp / ntrue >= need, (kind, score[kind])


def planted(d: int = 256, n0: int = 300, steps: int = 5, seed: int = 0, *,
            n_split: int = 8, n_merge: int = 8, n_birth: int = 10, n_death: int = 10,
            big_drift: float = 0.3) -> Planted:
    """A run where every step continues most latents (drift cosine 0.97, or 0.75 for the
    ``big_drift`` fraction), splits ``n_split`` latents in two, merges ``n_merge`` pairs,
    adds ``n_birth`` random latents and removes ``n_death``; rows shuffled at every step."""
    rng = np.random.default_rng(seed)
    cur = _unit(rng.standard_normal((n0, d)))
    out = Planted()
    perm = rng.permutation(n0)
    out.decoders.append(cur[perm])
    pos = np.argsort(perm)  # true latent -> row
    for _ in range(1, steps):
        n = cur.shape[0]
        order = rng.permutation(n)
        splits = order[:n_split]
        merges = order[n_split:n_split + 2 * n_merge].reshape(-1, 2)
        deaths = order[n_split + 2 * n_merge:n_split + 2 * n_merge + n_death]
        cont = order[n_split + 2 * n_merge + n_death:]
        new: list[np.ndarray] = []
        src: list[tuple[str, tuple]] = []
        for i in cont:
            cos = 0.75 if rng.random() < big_drift else 0.97
            new.append(_drift(cur[i], cos, rng))
            src.append(("continue", (i,)))
        for i in splits:
            for _ in range(2):
                new.append(_drift(cur[i], 0.72, rng))
                src.append(("split", (i,)))
        for a, b in merges:
            new.append(_unit(cur[a] + cur[b]))
            src.append(("merge", (a, b)))
        for _ in range(n_birth):
            new.append(_unit(rng.standard_normal(d)))
            src.append(("birth", ()))
        nxt = np.asarray(new)
        perm = rng.permutation(nxt.shape[0])
        new_pos = np.argsort(perm)
        links = true_links(src, pos, new_pos, deaths)
        out.decoders.append(nxt[perm])
        out.truth.append(links)
        cur, pos = nxt, new_pos
    return out


# ----------------------------------------------------------------------------- on-disk layouts

def _f32(**arrays: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}


def encoder_for(W_dec: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A plausible encoder (d, n) and bias for a decoder: its transpose and a small bias."""
    rng = np.random.default_rng(seed)
    return W_dec.T.copy(), -0.1 * np.abs(rng.standard_normal(W_dec.shape[0]))


def write_saelens(folder: Path, W_dec: np.ndarray, arch: str = "standard", k: int = 4,
                  **override: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    n, d = W_dec.shape
    W_enc, b_enc = encoder_for(W_dec)
    t = _f32(W_enc=W_enc, b_enc=b_enc, W_dec=W_dec, b_dec=np.zeros(d))
    cfg = {"d_in": d, "d_sae": n, "architecture": arch}
    if arch == "jumprelu":
        t["threshold"] = np.full(n, 0.05, np.float32)
    if arch == "topk":
        cfg["k"] = k
    if arch == "gated":
        del t["b_enc"]
        t.update(_f32(b_gate=b_enc, r_mag=np.zeros(n), b_mag=np.zeros(n)))
    t.update(_f32(**override))
    save_file(t, str(folder / "sae_weights.safetensors"))
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


def write_sparsify(folder: Path, W_dec: np.ndarray, k: int = 4, **override) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    n, d = W_dec.shape
    W_enc, b_enc = encoder_for(W_dec)
    t = _f32(**{"encoder.weight": W_enc.T, "encoder.bias": b_enc, "W_dec": W_dec,
                "b_dec": np.zeros(d)})
    t.update(_f32(**override))
    save_file(t, str(folder / "sae.safetensors"))
    (folder / "cfg.json").write_text(json.dumps({"k": k, "num_latents": n,
                                                  "expansion_factor": n // d}))
    return folder


def write_dictionary_learning(folder: Path, W_dec: np.ndarray, kind: str = "standard",
                              k: int = 4, **override) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    n, d = W_dec.shape
    W_enc, b_enc = encoder_for(W_dec)
    T = lambda a: torch.tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    if kind == "jumprelu":
        state = {"W_enc": T(W_enc), "b_enc": T(b_enc), "W_dec": T(W_dec), "b_dec": T(np.zeros(d)),
                 "threshold": T(np.full(n, 0.05))}
        dict_class = "JumpReluAutoEncoder"
    else:
        state = {"encoder.weight": T(W_enc.T), "encoder.bias": T(b_enc),
                 "decoder.weight": T(W_dec.T)}
        dict_class = "AutoEncoder"
        if kind == "topk":
            state.update({"b_dec": T(np.zeros(d)), "k": torch.tensor(k)})
            dict_class = "AutoEncoderTopK"
        else:
            state["bias"] = T(np.zeros(d))
    state.update({k_: T(v) for k_, v in override.items()})
    torch.save(state, folder / "ae.pt")
    (folder / "config.json").write_text(json.dumps(
        {"trainer": {"dict_class": dict_class, "activation_dim": d, "dict_size": n,
                     **({"k": k} if kind == "topk" else {})}}))
    return folder


def write_gemmascope(folder: Path, W_dec: np.ndarray, **override) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    n, d = W_dec.shape
    W_enc, b_enc = encoder_for(W_dec)
    t = _f32(W_enc=W_enc, W_dec=W_dec, b_enc=b_enc, b_dec=np.zeros(d),
             threshold=np.full(n, 0.05))
    t.update(_f32(**override))
    np.savez(folder / "params.npz", **t)
    return folder


WRITERS = {"saelens": write_saelens, "sparsify": write_sparsify,
           "dictionary_learning": write_dictionary_learning, "gemmascope": write_gemmascope}


@dataclass
class WarmStart:
    """A warm-started run (latent i keeps its identity, rows not shuffled) with chain traps:
    ``traps[t]`` lists (c, r) where, between checkpoints t and t+1, latent c barely moves (self
    cosine 0.98) while latent r, re-purposed, lands next to c's old direction (cosine 0.8)
    and r's old direction is next to c's new one (0.6): two weaker links (0.8 + 0.6) that
    outscore the one strong link (0.98) in a maximum-total-cosine assignment."""

    decoders: list[np.ndarray] = field(default_factory=list)
    traps: list[list[tuple[int, int]]] = field(default_factory=list)


def warm_started(d: int = 128, n: int = 120, steps: int = 5, n_traps: int = 4,
                 seed: int = 0, move: float = 0.98) -> WarmStart:
    """Decoders of a warm-started run: every latent drifts at cosine ``move`` to 0.995 per
    step except the planted chain traps (see :class:`WarmStart`)."""
    rng = np.random.default_rng(seed)
    cur = _unit(rng.standard_normal((n, d)))
    out = WarmStart()
    pending: list[tuple[int, int, np.ndarray]] = []  # (c, r, basis) set up at this step
    out.decoders.append(cur.copy())
    for t in range(1, steps + 1):
        nxt = np.stack([_drift(v, rng.uniform(move, 0.995), rng) for v in cur])
        for c, r, e in pending:  # the trap's second step: c barely moves, r lands near c
            x = cur[c]
            nxt[c] = _unit(0.98 * x + 0.199 * e[0])
            nxt[r] = _unit(0.8 * x + 0.6 * e[1])
        out.traps.append([(c, r) for c, r, _ in pending])  # pair (t - 1, t)
        busy = {i for c, r, _ in pending for i in (c, r)}
        pending = []
        if t < steps:  # set up traps for the next step: r moves next to c's future direction
            free = np.array([i for i in rng.permutation(n).tolist() if i not in busy])
            for c, r in free[:2 * n_traps].reshape(-1, 2).tolist():
                x = nxt[c]
                q, _ = np.linalg.qr(np.column_stack([x, rng.standard_normal((d, 3))]))
                e = q[:, 1:].T  # three unit directions orthogonal to x
                nxt[r] = _unit(0.5 * x + 0.55 * e[0] - 0.5 * e[1] + 0.444 * e[2])
                pending.append((c, r, e))
        out.decoders.append(nxt)
        cur = nxt
    return out


def broken_identities(lin, decoders: list[np.ndarray], self_cos: float = 0.9) -> list[tuple]:
    """Issue 18's warm-start bar on a built lineage: every latent whose decoder row barely
    moved between consecutive checkpoints (cosine with itself >= ``self_cos``) continues its
    own lineage at the same index, and no split or merge links another latent to it there.
    Returns the violations as (step, index, why); empty when the bar holds."""
    bad: list[tuple] = []
    for t in range(1, len(decoders)):
        A, B = _unit(np.asarray(decoders[t - 1], float)), _unit(np.asarray(decoders[t], float))
        step = int(lin.steps[t])
        touched = {x for e in lin.events if e.step == step and e.kind in ("split", "merge")
                   for x in (e.source, e.target)}
        for i in np.nonzero(np.einsum("ij,ij->i", A, B) >= self_cos)[0].tolist():
            f = int(lin.features[t][i])
            if f != int(lin.features[t - 1][i]) or not np.isfinite(lin.cos_prev[t][i]):
                bad.append((step, i, "not a continue of itself"))
            elif f in touched:
                bad.append((step, i, "another latent linked to it"))
    return bad
