"""Hold a stated ontology (a hypothesis of named primitives) against the learned one."""

from ontochron.overlay.hypothesis import Hypothesis, Primitive, load_hypothesis
from ontochron.overlay.pipeline import overlay

__all__ = ["Hypothesis", "Primitive", "load_hypothesis", "overlay"]
