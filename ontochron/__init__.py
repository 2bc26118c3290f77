"""ontochron: the life history of what a neural network learns, as a temporal graph.

Pipeline: ``ontochron.ingest`` (checkpoints -> binary codes per concept) ->
``ontochron.ontology`` (events and relations with validity intervals) ->
``ontochron.graph`` (Neo4j / embedded Bolt store) -> ``ontochron.queries``
(named Cypher queries, export, labels).
"""

from ontochron.errors import InputError, OntochronError

__version__ = "0.1.0"

__all__ = ["InputError", "OntochronError", "__version__"]
