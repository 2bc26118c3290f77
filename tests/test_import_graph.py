"""The package's modules import one another without cycles (function-level imports included:
a lazy import that closes a cycle still ties the two modules together)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PKG = Path(__file__).resolve().parents[1] / "ontochron"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, modules: set[str], here: str) -> set[str]:
    """Modules of the package that ``tree`` imports at run time (TYPE_CHECKING blocks left out)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                pkg = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(pkg + [node.module])
            for a in node.names:  # `from pkg import module` imports the module
                sub = f"{base}.{a.name}"
                found.add(sub if sub in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in modules and m != here}


def import_graph() -> nx.DiGraph:
    files = sorted(PKG.rglob("*.py"))
    modules = {_module_name(f) for f in files}
    g = nx.DiGraph()
    for f in files:
        here = _module_name(f)
        g.add_node(here)
        for m in _imports(ast.parse(f.read_text(encoding="utf-8")), modules, here):
            g.add_edge(here, m)
    return g


def test_graph_sees_lazy_imports():
    g = import_graph()
    # a function-level import (cli modules import their work lazily) is an edge too
    assert g.has_edge("ontochron.cli.query", "ontochron.queries.library")
    assert g.number_of_nodes() > 50


def test_no_import_cycles():
    g = import_graph()
    # package __init__ files that re-export their submodules are not cycles of their own:
    # ``pkg`` -> ``pkg.mod`` -> ``pkg`` only happens through ``from pkg import x``, which we
    # refuse too, so no edge is dropped.
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert cycles == [], f"import cycles: {cycles}"
