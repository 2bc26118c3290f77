"""Read path of a reptimeline JSON: ontochron's reader against the old one (jsoninput's
checked ``json`` parse then list-to-array conversion) and against a bound measured in the same process, reading the
file's bytes and touching every one of them with numpy (``np.frombuffer(...).sum()``).

    .venv/bin/python bench/bench_read_json.py                    # 800 x 1024 x 30 (74 MB)
    .venv/bin/python bench/bench_read_json.py --size 200x256x10 --repeat 5
    .venv/bin/python bench/bench_read_json.py --path run.json --analyze

Each variant is timed ``--repeat`` times, interleaved, best kept; the triad p-values and all
outputs are unchanged because the arrays read are equal (checked here).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ontochron.ingest import jsonbits, readers  # noqa: E402
from ontochron.jsoninput import parse_json  # noqa: E402


def bound(path: Path) -> None:
    np.frombuffer(path.read_bytes(), dtype=np.uint8).sum()


def old_reader(path: Path) -> list:
    """read_reptimeline as it was: jsoninput.parse_json of the whole text (json.loads with
    the depth, surrogate and duplicate-key checks), lists to arrays."""
    fast = jsonbits.parse_json_bytes
    jsonbits.parse_json_bytes = lambda data, path=None, **kw: parse_json(data.decode(), path,
                                                                          **kw)
    try:
        return readers.read_reptimeline(path)
    finally:
        jsonbits.parse_json_bytes = fast


def new_reader(path: Path) -> list:
    return readers.read_reptimeline(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="800x1024x30", help="CONCEPTSxFEATURESxSTEPS")
    p.add_argument("--density", type=float, default=0.03)
    p.add_argument("--path", type=Path, default=None, help="an existing reptimeline JSON")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--analyze", action="store_true",
                   help="also time analyze(compat='reptimeline', no discovery) on the stack")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path
        if path is None:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.synthetic import drifting_stack

            c, f, t = (int(v) for v in args.size.lower().split("x"))
            path = Path(tmp) / "run.json"
            readers.save_reptimeline_json(drifting_stack(t, c, f, density=args.density), path)
        mb = path.stat().st_size / 1e6
        best = {"bound": np.inf, "old": np.inf, "new": np.inf}
        for _ in range(args.repeat):
            for name, fn in (("bound", bound), ("old", old_reader), ("new", new_reader)):
                t0 = time.perf_counter()
                out = fn(path)
                best[name] = min(best[name], time.perf_counter() - t0)
                if name == "old":
                    old = out
                elif name == "new":
                    new = out
        for a, b in zip(old, new, strict=True):
            assert a.step == b.step and a.concepts == b.concepts
            assert (a.codes != b.codes).nnz == 0
        print(f"{path.name}: {mb:.1f} MB, {len(new)} snapshots")
        for name, secs in best.items():
            print(f"{name:<6} {secs:7.3f} s   {mb / secs:8.1f} MB/s   "
                  f"{secs / best['bound']:6.1f} x bound")
        print(f"new reader: {best['old'] / best['new']:.2f}x faster than the old one")
        if args.analyze:
            from ontochron.ingest.snapshot import CodeStack
            from ontochron.ontology import OntologyConfig, analyze

            t0 = time.perf_counter()
            analyze(CodeStack.from_snapshots(new), OntologyConfig(structure=False),
                    compat="reptimeline", progress=False)
            print(f"analyze --compat reptimeline --no-structure (after reading): "
                  f"{time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
