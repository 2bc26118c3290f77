"""Label features of a stored run: LLM labels through any OpenAI-compatible endpoint, offline
embedding-centroid and contrastive labels, detection-scored, cached by content, and written
onto the graph as versioned Label nodes (see docs/labels.md)."""

from __future__ import annotations

from ontochron.labels.cache import DEFAULT_CACHE_DIR, LabelCache, cache_key
from ontochron.labels.cost import Budget, Pricing, estimate_tokens
from ontochron.labels.embedding import EmbeddingLabeler, Vectors, load_vectors
from ontochron.labels.evidence import Evidence, EvidenceConfig, build_evidence
from ontochron.labels.llm import LLMConfig, LLMLabeler
from ontochron.labels.pipeline import LabelReport, Plan, label_run, plan, run_labeler
from ontochron.labels.result import METHODS, LabelFailure, LabelFatal, LabelResult
from ontochron.labels.scoring import balanced_accuracy, fit_threshold

__all__ = [
    "DEFAULT_CACHE_DIR", "METHODS", "Budget", "EmbeddingLabeler", "Evidence", "EvidenceConfig",
    "LLMConfig", "LLMLabeler", "LabelCache", "LabelFailure", "LabelFatal", "LabelReport",
    "LabelResult", "Plan", "Pricing", "Vectors", "balanced_accuracy", "build_evidence",
    "cache_key", "estimate_tokens", "fit_threshold", "label_run", "load_vectors", "plan",
    "run_labeler",
]
