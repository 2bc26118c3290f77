"""Ontology: events and relations with validity intervals, detected over a CodeStack."""

from ontochron.ontology.analyze import analyze
from ontochron.ontology.config import OntologyConfig
from ontochron.ontology.result import Events, Ontology, Relations

__all__ = ["Events", "Ontology", "OntologyConfig", "Relations", "analyze"]
