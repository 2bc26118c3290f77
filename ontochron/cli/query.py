"""``ontochron query``: run a named Cypher query (``--list`` shows them) or an ad-hoc statement
(``--cypher``) against the graph store; every value is sent as a query parameter."""

from __future__ import annotations

import argparse
import sys
import textwrap

from ontochron.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``query`` command."""
    from ontochron.cli.options import add_store_arguments

    p = subparsers.add_parser("query", help="run a named or ad-hoc Cypher query",
                              description=__doc__)
    p.add_argument("name", nargs="?", metavar="NAME", help="named query (see --list)")
    p.add_argument("--list", action="store_true", help="list the named queries and exit")
    p.add_argument("--cypher", metavar="STATEMENT",
                   help="run this Cypher statement instead of a named query ($parameters only; "
                        "$run_id and $forks are filled in as for named queries)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter (repeatable); VALUE is read as int/float/bool/null/JSON "
                        "when it looks like one, else as a string")
    p.add_argument("--run", metavar="NAME",
                   help="run id for $run_id, named queries and --cypher alike (default: the "
                        "only run in the store)")
    p.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table")
    p.add_argument("--write", action="store_true",
                   help="run an ad-hoc --cypher statement as a write (without it, a statement "
                        "that would change the graph is refused)")
    add_store_arguments(p)
    p.set_defaults(func=cmd_query)


def parse_params(items: list[str]) -> dict[str, object]:
    """``["k=v", ...]`` -> {k: parsed v}; InputError on a malformed item."""
    from ontochron.queries.library import parse_value

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("$")
        if not sep or not key.isidentifier():
            raise InputError(f"--param must look like NAME=VALUE, got {item!r}")
        out[key] = parse_value(value)
    return out


def format_listing() -> str:
    """Each named query with what it answers and its parameters."""
    from ontochron.queries.library import list_queries

    blocks = []
    for q in list_queries():
        lines = [q.name, *textwrap.wrap(q.summary, 88, initial_indent="    ",
                                        subsequent_indent="    ")]
        for prm in q.params:
            lines.append(f"    --param {prm.spec()}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def cmd_query(args: argparse.Namespace) -> int:
    from ontochron.graph.cypher import parameters
    from ontochron.graph.store import open_store_from_args
    from ontochron.queries.library import (
        bind_cypher,
        get_query,
        resolve_run,
        run_cypher,
        run_query,
    )

    if args.list:
        print(format_listing())
        return 0
    if bool(args.name) == bool(args.cypher):
        raise InputError("give a query NAME or --cypher STATEMENT (or --list)")
    params = parse_params(args.param)
    given_run = params.get("run_id")
    if args.run is not None and given_run is not None and given_run != args.run:
        raise InputError(f"$run_id given twice: --run {args.run!r} and -p run_id={given_run!r}")
    query = get_query(args.name) if args.name else None  # unknown names fail before connecting
    if query is not None:  # check the parameters before connecting
        placeholder = {"run_id": "?"} if query.param("run_id") is not None else {}
        query.bind({**placeholder, **params})
    else:
        bind_cypher(args.cypher, params, run_id=args.run or given_run or "?")
    with open_store_from_args(args) as store:
        if query is not None:
            if query.param("run_id") is not None:
                params["run_id"] = resolve_run(store, args.run or given_run)
            result = run_query(store, query.name, **params)
        else:
            run_id = None
            if "run_id" in parameters(args.cypher):
                run_id = resolve_run(store, args.run or given_run)
                params.pop("run_id", None)
            result = run_cypher(store, args.cypher, write=args.write,
                                **bind_cypher(args.cypher, params, run_id=run_id))
    sys.stdout.write(result.format(args.format).rstrip("\n") + "\n")
    return 0
