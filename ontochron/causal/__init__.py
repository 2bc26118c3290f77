"""Causal verification of features by intervention, with bootstrap CIs, permutation tests and
Benjamini-Hochberg control across features."""

from ontochron.causal.demo import verify_demo
from ontochron.causal.interventions import bottleneck_intervention, from_table, sae_ablation
from ontochron.causal.verify import (
    CausalReport,
    CausalResult,
    benjamini_hochberg,
    codes_at,
    hedges_g,
    selectivity,
    verify_features,
)

__all__ = ["CausalReport", "CausalResult", "benjamini_hochberg", "bottleneck_intervention",
           "codes_at", "from_table", "hedges_g", "sae_ablation", "selectivity",
           "verify_demo", "verify_features"]
