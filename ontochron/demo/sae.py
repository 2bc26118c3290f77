"""The demo's per-checkpoint dictionaries: a small sparse autoencoder trained on the demo
model's hidden layer at every checkpoint, each from its own random initialisation (so latent
``i`` of one checkpoint has nothing to do with latent ``i`` of the next), written in the
SAELens layout with the probe concepts' activations, ready for ``ontochron lineage``.

Layout (one folder per checkpoint, docs/demo.md): ``DIR/step_{N}/cfg.json``,
``sae_weights.safetensors`` (``W_enc`` [d_in, d_sae], ``b_enc``, ``W_dec`` [d_sae, d_in],
``b_dec``) and ``probe_activations.npz`` (``concepts`` (C,) strings, ``activations`` (C, d_in)).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ontochron.demo.model import DemoNet, load_demo_model, one_thread
from ontochron.errors import InputError

D_SAE = 64
SAE_STEPS = 200
PROBE_FILENAME = "probe_activations.npz"


@dataclass(frozen=True)
class SAERecord:
    """One trained dictionary: its checkpoint step, folder and final losses."""

    step: int
    path: Path
    mse: float        # reconstruction MSE on the training activations
    l0: float         # mean number of active latents per input
    dead: int         # latents never active on the training activations


def hidden_activations(model: DemoNet, x: np.ndarray) -> np.ndarray:
    """The demo model's hidden layer (after the first ReLU), (n, 128) float32."""
    with torch.no_grad(), one_thread():
        h = model.encoder[1](model.encoder[0](torch.as_tensor(np.asarray(x, np.float32))))
    return h.numpy()


def train_sae(acts: np.ndarray, *, d_sae: int = D_SAE, steps: int = SAE_STEPS, seed: int = 0,
              l1: float = 3e-3, lr: float = 5e-3, batch_size: int = 128
              ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Train a standard ReLU SAE (``f = relu((x - b_dec) W_enc + b_enc)``, ``x^ = f W_dec +
    b_dec``; loss MSE + l1 * sum_i f_i * |W_dec[i]|) from a seeded random initialisation;
    returns its weights (SAELens names) and final mse / l0 / dead."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(np.asarray(acts, dtype=np.float32))
    n, d_in = x.shape
    w_dec = torch.randn(d_sae, d_in, generator=gen)
    w_dec = (w_dec / w_dec.norm(dim=1, keepdim=True)).requires_grad_(True)
    w_enc = w_dec.detach().T.clone().requires_grad_(True)
    b_enc = torch.zeros(d_sae, requires_grad=True)
    b_dec = x.mean(0).clone().requires_grad_(True)
    params = [w_enc, b_enc, w_dec, b_dec]
    opt = torch.optim.Adam(params, lr=lr)
    with one_thread():
        for _ in range(steps):
            b = torch.randint(0, n, (min(batch_size, n),), generator=gen)
            f = F.relu((x[b] - b_dec) @ w_enc + b_enc)
            recon = f @ w_dec + b_dec
            loss = F.mse_loss(recon, x[b]) + l1 * (f * w_dec.norm(dim=1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            f = F.relu((x - b_dec) @ w_enc + b_enc)
            stats = {"mse": float(F.mse_loss(f @ w_dec + b_dec, x)),
                     "l0": float((f > 0).sum(1).float().mean()),
                     "dead": float(((f > 0).sum(0) == 0).sum())}
    weights = {"W_enc": w_enc.detach().numpy().copy(), "b_enc": b_enc.detach().numpy().copy(),
               "W_dec": w_dec.detach().numpy().copy(), "b_dec": b_dec.detach().numpy().copy()}
    return weights, stats


def sae_config(d_in: int, d_sae: int) -> dict[str, Any]:
    """The ``cfg.json`` of a demo SAE (SAELens keys)."""
    return {"architecture": "standard", "d_in": int(d_in), "d_sae": int(d_sae),
            "activation_fn_str": "relu", "apply_b_dec_to_input": True,
            "normalize_activations": "none", "dtype": "float32", "device": "cpu",
            "model_name": "ontochron-demo DemoNet", "hook_name": "encoder.1",
            "hook_layer": 0, "context_size": 1, "prepend_bos": False}


def write_sae(folder: Path, weights: Mapping[str, np.ndarray]) -> None:
    """Write ``cfg.json`` and ``sae_weights.safetensors`` into ``folder``."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    d_sae, d_in = weights["W_dec"].shape
    (folder / "cfg.json").write_text(json.dumps(sae_config(d_in, d_sae), indent=1) + "\n",
                                     encoding="utf-8")
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()},
              str(folder / "sae_weights.safetensors"))


def write_probes(folder: Path, concepts: list[str], activations: np.ndarray) -> None:
    """Write ``probe_activations.npz``: ``concepts`` (C,) strings, ``activations`` (C, d_in)."""
    np.savez(folder / PROBE_FILENAME, concepts=np.asarray(concepts, dtype=str),
             activations=np.asarray(activations, dtype=np.float32))


def train_checkpoint_saes(checkpoints: list[tuple[int, Path]], x_train: np.ndarray,
                          x_probe: np.ndarray, concept_rows: Mapping[str, np.ndarray],
                          out_dir: str | os.PathLike[str], *, d_sae: int = D_SAE,
                          steps: int = SAE_STEPS, seed: int = 0) -> list[SAERecord]:
    """For each checkpoint: train an SAE on the hidden activations of ``x_train`` (seed
    differs per checkpoint, so indices are not aligned) and write it with the mean hidden
    activation of each concept's rows of ``x_probe`` to ``out_dir/step_{N}/``."""
    if not checkpoints:
        raise InputError("no checkpoints to train dictionaries on")
    out = Path(out_dir)
    if out.is_dir():  # an earlier run's folders must not mix with this one's
        for old in out.glob("step_*"):
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
    names = list(concept_rows)
    records = []
    for n, (step, path) in enumerate(checkpoints):
        model = load_demo_model(path)
        weights, stats = train_sae(hidden_activations(model, x_train), d_sae=d_sae,
                                   steps=steps, seed=seed * 100_003 + 7919 * n + 1)
        h = hidden_activations(model, x_probe)
        probes = np.stack([h[concept_rows[c]].mean(axis=0) for c in names])
        folder = out / f"step_{int(step)}"
        write_sae(folder, weights)
        write_probes(folder, names, probes)
        records.append(SAERecord(int(step), folder, stats["mse"], stats["l0"],
                                 int(stats["dead"])))
    return records


def summarize_lineage(lineage: Any) -> dict[str, Any]:
    """What the demo shows of a lineage: counts per event kind, lineages, threshold, one split
    or merge (the first, with its cosines) and the drift of the longest-lived lineage."""
    counts: dict[str, int] = {k: 0 for k in ("birth", "death", "split", "merge")}
    for e in lineage.events:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    counts["continue"] = int(sum(np.isfinite(np.asarray(p, float)).sum()
                                 for p in lineage.cos_prev))
    steps = [int(s) for s in lineage.steps]
    example = None
    for kind in ("split", "merge"):
        rows = [e for e in lineage.events if e.kind == kind]
        if rows:
            step = min(e.step for e in rows)
            one = next(e for e in rows if e.step == step)
            key = "source" if kind == "split" else "target"
            group = [e for e in rows if e.step == step and getattr(e, key) == getattr(one, key)]
            example = {"kind": kind, "step": int(step),
                       "sources": sorted({int(e.source) for e in group}),
                       "targets": sorted({int(e.target) for e in group}),
                       "cosines": [None if e.cosine is None else round(float(e.cosine), 3)
                                   for e in group]}
            break
    index = lineage.index_matrix()
    life = (index >= 0).sum(axis=1)
    drift = None
    if life.size:
        fid = int(np.argmax(life))  # longest-lived; the lowest id among equals
        cos = []
        for t, feats in enumerate(lineage.features):
            hit = np.flatnonzero(np.asarray(feats) == fid)
            if hit.size:
                cf = float(np.asarray(lineage.cos_first[t])[hit[0]])
                cos.append({"step": steps[t], "index": int(hit[0]),
                            "cos_first": round(cf, 3) if np.isfinite(cf) else None})
        drift = {"feature": fid, "checkpoints": int(life[fid]), "path": cos}
    thr = float(lineage.threshold)
    return {"lineages": int(lineage.n_lineages), "counts": counts,
            "threshold": round(thr, 4) if np.isfinite(thr) else None,
            "null": lineage.null, "example": example, "drift": drift}


def demo_lineage(sae_dir: str | os.PathLike[str]) -> tuple[Any, Any]:
    """Match the demo's per-checkpoint SAEs and encode the probes in lineage space: the
    CodeStack (columns = lineage ids) and the Lineage, from ``ontochron.lineage``."""
    from ontochron.lineage.pipeline import load_aligned

    stack, lineage, _ = load_aligned(sae_dir)
    if lineage is None:
        raise InputError("the demo's SAE folders were not read as a dictionary run", sae_dir)
    return stack, lineage
