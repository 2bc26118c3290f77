"""Validated thresholds for ontology detection (``OntologyConfig``), checked on creation so
that a bad value fails early with a message naming the field."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ontochron.errors import InputError
from ontochron.ontology.connections import CONNECTION_NULLS
from ontochron.ontology.fdsm import NULL_SAMPLES

try:  # the structure detectors define their own validated config
    from ontochron.ontology.structure import StructureConfig
except ImportError:  # pragma: no cover - structure detectors not installed yet
    StructureConfig = None  # type: ignore[assignment,misc]

PHASE_RULES = ("mad", "mean_std")
DEVICES = ("cpu", "cuda")


def _default_structure() -> Any:
    return StructureConfig() if StructureConfig is not None else None


@dataclass
class OntologyConfig:
    """All thresholds of native-mode detection (see docs/definitions.md).

    ``alpha``: Benjamini-Hochberg level of the per-checkpoint connection test;
    ``connection_null``: its null law of the shared-feature count, "auto" (by cost: FDSM
    where affordable, else the size-conditioned BiCM on dense codes, else BiCM), "bicm"
    (sizes and feature popularities kept in expectation), "cbicm" (the BiCM given each
    concept's exact size), "fdsm" (both kept exactly; Monte Carlo with ``null_samples``
    curveball samples) or "hypergeometric" (every feature on somewhere equally likely);
    ``min_shared``: fewest shared features for a connection; ``phase_rule``: "mad" (robust
    z of |delta| > ``phase_z``) or "mean_std" (|delta| > mean + ``phase_sigma`` * std);
    ``phase_min_delta``: smallest |delta| that can be a transition (each curve's resolution,
    one bit or one concept, applies as well); ``connections`` /
    ``structure``: switch the connection and structure detectors on or off;
    ``structure_config``: the structure detectors' own config (StructureConfig);
    ``seed``: seed of the random row hashing used for the utilization curve and of the
    FDSM samples.
    """

    alpha: float = 0.05
    connection_null: str = "auto"
    null_samples: int = NULL_SAMPLES
    min_shared: int = 1
    phase_rule: str = "mad"
    phase_z: float = 3.5
    phase_sigma: float = 2.0
    phase_min_delta: float = 1e-9
    connections: bool = True
    structure: bool = True
    structure_config: Any = field(default_factory=_default_structure)
    seed: int = 0

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> InputError:
            return InputError(f"OntologyConfig.{name} {why}, got {getattr(self, name)!r}")

        for name in ("alpha", "phase_z", "phase_sigma", "phase_min_delta"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise bad(name, "must be a finite number")
        if not 0.0 < self.alpha < 1.0:
            raise bad("alpha", "must be in (0, 1)")
        if self.phase_z <= 0 or self.phase_sigma <= 0:
            raise bad("phase_z" if self.phase_z <= 0 else "phase_sigma", "must be > 0")
        if self.phase_min_delta < 0:
            raise bad("phase_min_delta", "must be >= 0")
        for name in ("min_shared", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "min_shared"
                                                                     else 0):
                raise bad(name, "must be an integer >= 1" if name == "min_shared"
                          else "must be an integer >= 0")
        if self.connection_null not in CONNECTION_NULLS:
            raise bad("connection_null", f"must be one of {CONNECTION_NULLS}")
        v = self.null_samples
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10_000_000:
            raise bad("null_samples", "must be an integer in [1, 10000000]")
        if self.phase_rule not in PHASE_RULES:
            raise bad("phase_rule", f"must be one of {PHASE_RULES}")
        for name in ("connections", "structure"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "must be True or False")
        if (StructureConfig is not None and self.structure_config is not None
                and not isinstance(self.structure_config, StructureConfig)):
            raise bad("structure_config", "must be a StructureConfig")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every threshold (structure config nested)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "structure_config"}
        sc = self.structure_config
        out["structure_config"] = asdict(sc) if sc is not None and hasattr(sc, "__dataclass_fields__") else None
        return out
