"""SAELens folders for the extractor API: ``load_saelens`` reads one with the one SAE reader
(:mod:`ontochron.sae.saelens`); ``SAEWeights`` is the one SAE model."""

from __future__ import annotations

import os

from ontochron.sae.load import load_sae
from ontochron.sae.model import SAE
from ontochron.sae.saelens import infer_architecture

SAEWeights = SAE

__all__ = ["SAEWeights", "infer_architecture", "load_saelens"]


def load_saelens(folder: str | os.PathLike[str]) -> SAE:
    """The SAE of a SAELens folder (or of a folder holding one, e.g. ``final_<n>/``)."""
    return load_sae(folder, "saelens")
