"""Built-in interventions: turn a model + per-concept inputs into ``intervene(feature, concept)``.

* :func:`sae_ablation` zero-ablates one SAE feature and measures the change through the
  decoder (reconstruction shift, or a user ``readout`` such as a downstream loss).
* :func:`bottleneck_intervention` flips/zeros one bit of the demo model's binary bottleneck
  via ``ontochron.demo.model.bottleneck_intervention``.
* :func:`from_table` wraps precomputed effects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ontochron.errors import InputError

Intervene = Callable[[int, str], np.ndarray]


def _lookup(table: Mapping[str, Any], concept: str) -> Any:
    try:
        return table[concept]
    except KeyError:
        raise InputError(f"no inputs for concept {concept!r}") from None


def sae_ablation(sae: Any, activations: Mapping[str, np.ndarray],
                 readout: Callable[[np.ndarray], np.ndarray] | None = None) -> Intervene:
    """Zero-ablate SAE feature f on concept c's inputs; effect per input.

    ``sae`` has ``encode(acts) -> (codes, latents)`` (the :class:`Extractor` interface) and
    ``decode(latents) -> reconstruction``. ``activations`` maps concept -> (n_inputs, d_model)
    model activations. Effect = ``readout(ablated) - readout(clean)`` (e.g. a loss) or, with no
    readout, the L2 norm of the reconstruction change. Latents are cached per concept.
    """
    if not hasattr(sae, "decode") or not hasattr(sae, "encode"):
        raise InputError("sae must have encode() and decode() (an SAEExtractor)")
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def latents(concept: str) -> tuple[np.ndarray, np.ndarray]:
        if concept not in cache:
            acts = np.atleast_2d(np.asarray(_lookup(activations, concept), dtype=np.float32))
            _, z = sae.encode(acts)
            if z is None:
                raise InputError("the SAE returned no continuous latents to ablate")
            z = np.asarray(z, dtype=np.float32)
            cache[concept] = (z, np.asarray(sae.decode(z), dtype=np.float32))
        return cache[concept]

    def intervene(feature: int, concept: str) -> np.ndarray:
        z, clean = latents(concept)
        if not 0 <= feature < z.shape[1]:
            raise InputError(f"feature {feature} out of range for an SAE with {z.shape[1]}")
        z2 = z.copy()
        z2[:, feature] = 0.0
        ablated = np.asarray(sae.decode(z2), dtype=np.float32)
        if readout is None:
            return np.linalg.norm((ablated - clean).reshape(len(z), -1), axis=1)
        return (np.asarray(readout(ablated), dtype=float)
                - np.asarray(readout(clean), dtype=float)).ravel()

    return intervene


def bottleneck_intervention(model: Any, data: Mapping[str, tuple[Any, Any]],
                            mode: str = "flip", measure: str = "loss") -> Intervene:
    """Flip (``mode="flip"``) or zero one bottleneck bit of the demo model per concept.

    ``data`` maps concept -> (inputs, labels); effects come from
    ``ontochron.demo.model.bottleneck_intervention`` (per-input change in loss, or KL with
    ``measure="kl"``). ``model`` is a DemoNet or a checkpoint path (loaded once).
    """
    if mode not in ("flip", "zero"):
        raise InputError(f"mode must be 'flip' or 'zero', got {mode!r}")
    from ontochron.demo import model as demo_model  # the demo engineer's module; imported lazily

    if not hasattr(model, "head"):
        model = demo_model.load_demo_model(model)

    def intervene(feature: int, concept: str) -> np.ndarray:
        inputs, labels = _lookup(data, concept)
        eff = demo_model.bottleneck_intervention(model, inputs, labels, feature, mode=mode,
                                                  measure=measure)
        if hasattr(eff, "detach"):
            eff = eff.detach().cpu().numpy()
        return np.asarray(eff, dtype=float).ravel()

    return intervene


def from_table(effects: Mapping[tuple[int, str], Any]) -> Intervene:
    """Precomputed effects keyed by (feature, concept)."""

    def intervene(feature: int, concept: str) -> np.ndarray:
        try:
            return np.asarray(effects[(int(feature), concept)], dtype=float)
        except KeyError:
            raise InputError(f"no effects for feature {feature}, concept {concept!r}") from None

    return intervene
