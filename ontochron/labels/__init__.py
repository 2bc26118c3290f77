"""Label features of a stored run: LLM labels through any OpenAI-compatible endpoint, offline
embedding-centroid and contrastive labels, detection-scored, cached by content, and written
onto the graph as versioned Label nodes (see docs/labels.md).

The names below load their module on first use (PEP 562), so importing one light submodule
(``ontochron.labels.result`` for the CLI) does not pull in numpy, scipy and openai.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "cache": ("DEFAULT_CACHE_DIR", "LabelCache", "cache_key"),
    "cost": ("Budget", "Pricing", "estimate_tokens"),
    "embedding": ("EmbeddingLabeler", "Vectors", "load_vectors"),
    "evidence": ("Evidence", "EvidenceConfig", "build_evidence"),
    "llm": ("LLMConfig", "LLMLabeler"),
    "pipeline": ("LabelReport", "Plan", "label_run", "plan", "run_labeler"),
    "result": ("METHODS", "LabelFailure", "LabelFatal", "LabelResult"),
    "scoring": ("balanced_accuracy", "fit_threshold"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
