"""Causal verification of the demo model's bottleneck bits, one call from the demo or the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ontochron.causal.interventions import bottleneck_intervention
from ontochron.causal.verify import CausalReport, verify_features
from ontochron.errors import InputError


def verify_demo(model: Any, inputs: np.ndarray, labels: np.ndarray, *, step: int = 0,
                features: Iterable[int] | None = None,
                concept_name: Callable[[int], str] = str, mode: str = "flip",
                measure: str = "loss", **verify_kwargs: Any) -> CausalReport:
    """Which bottleneck bits of the demo model are causal for their classes at ``step``.

    Concepts are the classes in ``labels`` (named by ``concept_name(label)``); a concept's code
    is the majority vote of its inputs' bits (probs > 0.5). Each bit is flipped/zeroed on every
    class's inputs; see :func:`verify_features` for the statistics and ``verify_kwargs``.
    """
    from ontochron.demo import model as demo_model

    if not hasattr(model, "head"):
        model = demo_model.load_demo_model(model)
    x = np.asarray(inputs, dtype=np.float32)
    y = np.asarray(labels).ravel()
    if x.ndim != 2 or x.shape[0] != y.size or y.size == 0:
        raise InputError(f"inputs must be (n, d) with one label each; got {x.shape} and "
                         f"{y.size} labels")
    classes = np.unique(y)
    bits = demo_model.bottleneck_probs(model, x) > 0.5
    # majority vote per class: one matrix product over the (n_inputs x n_classes) indicator
    onehot = (y[:, None] == classes[None, :]).astype(np.float32)
    rate = (onehot.T @ bits.astype(np.float32)) / onehot.sum(0)[:, None]
    names = [concept_name(int(c)) for c in classes]
    data = {n: (x[y == c], y[y == c]) for n, c in zip(names, classes, strict=True)}
    intervene = bottleneck_intervention(model, data, mode=mode, measure=measure)
    return verify_features(intervene, rate > 0.5, features, step=step, concepts=names,
                           method=f"bottleneck_{mode}_{measure}", **verify_kwargs)
