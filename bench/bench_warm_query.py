"""Whole-process latency of `ontochron query` on the embedded store that stays up, against a
bare Python script that opens the official driver and runs the same query (both measured here,
in one process, as separate interpreter launches). Also the cold start: the first command on a
stopped store (keeper + ArcadeDB start-up + query), and the server start-up alone.

    nice .venv/bin/python bench/bench_warm_query.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ontochron.graph import embedded as emb  # noqa: E402

QUERY = "MATCH (n) RETURN count(n) AS nodes"
BARE = """
import sys, neo4j
d, q = sys.argv[1], sys.argv[2]
import json; lock = json.load(open(d + "/ontochron-server.json"))
pw = open(d + "/.ontochron-root-password").read().strip()
with neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{lock['bolt_port']}", auth=("root", pw)) as drv:
    recs, _, _ = drv.execute_query(q, database_=lock["database"])
    print(recs[0]["nodes"])
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args(argv)
    # BENCH_EXTRA_PATH: a folder put first on the path, e.g. a neo4j copy with neo4j-rust-ext.
    path = [os.environ.get("BENCH_EXTRA_PATH", ""), str(ROOT)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p),
           "ONTOCHRON_STORE_IDLE": "120"}
    env.pop("NEO4J_URI", None)
    with tempfile.TemporaryDirectory() as tmp:
        d = str(Path(tmp) / "store")
        cli = [sys.executable, "-c", "import sys; from ontochron.cli import main; "
               "sys.exit(main())", "query", "--cypher", QUERY, "--data-dir", d]
        bare = [sys.executable, "-c", BARE, d, QUERY]
        try:
            cold = timed(cli, env)
            for _ in range(2):  # warm the JIT and the OS caches for both
                timed(cli, env)
                timed(bare, env)
            warm = [timed(cli, env) for _ in range(a.repeat)]
            base = [timed(bare, env) for _ in range(a.repeat)]
        finally:
            emb.stop_running(d)
        t0 = time.perf_counter()
        with emb.EmbeddedServer(d) as srv:
            server_only = srv.startup_seconds or (time.perf_counter() - t0)
    w, b = statistics.median(warm), statistics.median(base)
    print(f"warm `ontochron query` median {w * 1000:.0f} ms; bare driver script median "
          f"{b * 1000:.0f} ms; ratio {w / b:.2f}x (repeat {a.repeat})")
    print(f"cold first command {cold:.1f} s; server start-up alone {server_only:.1f} s "
          f"(existing data dir)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
