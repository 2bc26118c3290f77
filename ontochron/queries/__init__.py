"""Read the temporal concept graph: named Cypher queries (``run_query``, ``list_queries``),
subgraph export to GraphML/GEXF/JSON/Cytoscape/Cypher/CSV, and the Neo4j Bloom perspective."""

from ontochron.queries.library import (
    Column,
    NamedQuery,
    Param,
    QueryResult,
    demo_queries,
    get_query,
    list_queries,
    list_runs,
    parse_value,
    resolve_run,
    run_cypher,
    run_query,
)

_LAZY = {"export_subgraph": "export", "fetch_subgraph": "export", "write_graph": "export",
         "write_perspective": "bloom", "build_perspective": "bloom"}


def __getattr__(name: str) -> object:
    """Export and Bloom helpers, imported on first use (they pull in networkx)."""
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"ontochron.queries.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'ontochron.queries' has no attribute {name!r}")


__all__ = ["Column", "NamedQuery", "Param", "QueryResult", "demo_queries", "get_query",
           "list_queries", "list_runs", "parse_value", "resolve_run", "run_cypher", "run_query",
           *_LAZY]
