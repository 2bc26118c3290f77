"""One SAE model for every path: a reader per library layout (SAELens, sparsify,
dictionary_learning, Gemma Scope) into :class:`SAE`, whose ``encode`` is the one encoder."""

from ontochron.sae.load import LAYOUTS, detect_layout, find_sae, load_sae, sae_candidates
from ontochron.sae.model import ARCHITECTURES, SAE

__all__ = ["ARCHITECTURES", "LAYOUTS", "SAE", "detect_layout", "find_sae", "load_sae",
           "sae_candidates"]
