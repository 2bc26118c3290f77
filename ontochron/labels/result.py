"""The outcome of labelling one feature at one step, and the errors labelers raise."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ontochron.errors import OntochronError

METHODS = ("llm", "embedding", "contrastive")


class LabelFailure(OntochronError):
    """One feature could not be labelled (malformed answers, retries exhausted, no usable
    evidence); the run records it and goes on. ``cost_usd``: what the requests that were
    answered before the failure cost (unanswered requests cost nothing)."""

    cost_usd: float = 0.0


class LabelFatal(OntochronError):
    """Labelling cannot go on at all (bad API key, unknown model or endpoint): the run stops
    and reports what it had done. ``cost_usd`` as for LabelFailure."""

    cost_usd: float = 0.0


@dataclass
class LabelResult:
    """A label for ``feature`` at ``step``: text, the labeler's own explanation and confidence,
    and the detection ``score`` (balanced accuracy on held-out concepts; None when there was
    nothing to score on)."""

    feature: int
    step: int
    method: str
    model: str
    prompt_version: str
    evidence_hash: str
    text: str
    explanation: str = ""
    confidence: float | None = None
    score: float | None = None
    cached: bool = False
    cost_usd: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    _CACHED = ("text", "explanation", "confidence", "score", "details")

    def cache_value(self) -> dict[str, Any]:
        """The part that is stored in the label cache."""
        d = asdict(self)
        return {k: d[k] for k in self._CACHED}

    @classmethod
    def from_cache(cls, value: dict[str, Any], *, feature: int, step: int, method: str,
                   model: str, prompt_version: str, evidence_hash: str) -> LabelResult:
        """Rebuild a result for ``feature``/``step`` from a cached value."""
        return cls(feature, step, method, model, prompt_version, evidence_hash,
                   **{k: value.get(k) for k in cls._CACHED if k in value}, cached=True)
