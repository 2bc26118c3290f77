"""``ontochron store serve|status|stop``: keep the embedded ArcadeDB Bolt store up in the
foreground so other commands, cypher-shell and Neo4j tools can share it; inspect or stop it."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ontochron.errors import StoreError
from ontochron.graph import embedded as emb


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``store`` command and its ``serve``/``status``/``stop`` actions."""
    p = subparsers.add_parser("store", help="run, inspect or stop the embedded graph store",
                              description=__doc__)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    def data_dir_arg(q: argparse.ArgumentParser) -> None:
        q.add_argument("--data-dir", metavar="DIR", default=None,
                       help="store directory (default: $ONTOCHRON_DATA_DIR or ./.ontochron/store)")

    serve = actions.add_parser("serve", help="run the embedded store in the foreground (Ctrl-C stops)")
    data_dir_arg(serve)
    serve.add_argument("--port", type=int, default=7687,
                       help="Bolt port on 127.0.0.1 (default 7687; 0 picks a free one)")
    serve.add_argument("--heap", default="1g", help="Java heap, e.g. 1g (default) or 2g")
    serve.add_argument("--database", default=emb.DEFAULT_DATABASE,
                       help=f"database name (default {emb.DEFAULT_DATABASE})")
    serve.set_defaults(func=cmd_serve)

    status = actions.add_parser("status", help="is a store serving this data dir? (exit 1 if not)")
    data_dir_arg(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    stop = actions.add_parser("stop", help="stop the store serving this data dir")
    data_dir_arg(stop)
    stop.set_defaults(func=cmd_stop)


def _data_dir(args: argparse.Namespace) -> Path:
    from ontochron.graph.store import DEFAULT_DATA_DIR

    raw = args.data_dir or os.environ.get("ONTOCHRON_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(raw).expanduser().resolve()


def connection_help(uri: str, database: str, password_path: Path) -> str:
    """How to reach a served store from the driver, cypher-shell and Neo4j tools."""
    return "\n".join([
        f"  Bolt URI:       {uri}",
        f"  username:       {emb.USERNAME}",
        f"  password:       in {password_path} (mode 0600; never printed)",
        f"  database:       {database}",
        "",
        "  ontochron:      other commands on this data dir reuse this server automatically;",
        f"                  or pass --store {uri} with NEO4J_USERNAME/NEO4J_PASSWORD set",
        f"  cypher-shell:   cypher-shell -a {uri} -u {emb.USERNAME} -d {database} "
        f"-p \"$(cat {password_path})\"",
        f"  Python driver:  neo4j.GraphDatabase.driver('{uri}', auth=('{emb.USERNAME}', "
        f"<password>)) and database_='{database}'",
        f"  Neo4j Browser:  connect URL {uri}, user {emb.USERNAME}, database {database} "
        "(the port also takes Bolt over WebSocket; for the full Browser/Bloom experience "
        "run Neo4j, see docker-compose.yml)",
    ])


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the server and block until Ctrl-C (or ``store stop``), then shut it down."""
    data_dir = _data_dir(args)
    server = emb.EmbeddedServer(data_dir, port=args.port, heap=args.heap,
                                database=args.database)
    print(f"starting the embedded ArcadeDB store in {data_dir} ...", flush=True)
    server.start()
    try:
        print(f"ontochron store serving (pid {server.pid}, started in "
              f"{server.startup_seconds:.1f}s):")
        print(connection_help(server.bolt_uri, server.database, server.password_file))
        print("Press Ctrl-C to stop.", flush=True)
        code = server.wait()
        print(f"the store process exited (code {code})")
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        server.stop()
    print("stopped")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print whether a server runs on the data dir (pid, port); exit code 1 when none."""
    data_dir = _data_dir(args)
    info = emb.read_lock(data_dir)
    running = info is not None and info.ready
    if args.json:
        print(json.dumps({
            "running": running, "data_dir": str(data_dir),
            "pid": info.pid if info else None, "owner_pid": info.owner_pid if info else None,
            "bolt_uri": info.bolt_uri if running and info else None,
            "bolt_port": info.bolt_port if info else None, "ready": bool(info and info.ready),
            "database": info.database if info else None,
            "password_file": str(emb.password_file(data_dir))}))
    elif running and info is not None:
        print(f"running: pid {info.pid}, {info.bolt_uri}, database {info.database}, "
              f"data dir {data_dir}")
    elif info is not None:
        print(f"starting: pid {info.pid or info.owner_pid} is starting a server on {data_dir}")
    else:
        print(f"not running (data dir {data_dir})")
    return 0 if running else 1


def cmd_stop(args: argparse.Namespace) -> int:
    """Stop the server on the data dir; exit code 1 when none was running."""
    data_dir = _data_dir(args)
    info = emb.stop_running(data_dir)
    if info is None:
        print(f"not running (data dir {data_dir})")
        return 1
    if emb.read_lock(data_dir) is not None:
        raise StoreError(f"the server (pid {info.pid}) on {data_dir} did not stop")
    print(f"stopped pid {info.pid} ({data_dir})")
    return 0
