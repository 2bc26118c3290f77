"""Structure stage alone, this checkout against a baseline revision, in one process: the cost
of the activity-keeping null (docs/structure.md, "Cost").

Loads ``ontochron/ontology/structure.py`` of ``--baseline`` (a git revision) as a separate
module next to the current one and times ``structure_over_time`` of both, alternating, on
the scale benchmark's drifting sparse stack (bench_scale.py) at reduced sizes, so both see
the same host load. Best of ``--repeat`` runs each.

    nice .venv/bin/python bench/bench_structure_null.py                  # small sizes
    nice .venv/bin/python bench/bench_structure_null.py --sizes 8192x3000x3 --baseline main

The full benchmark (16384 x 5000 x 100) is not run by default: pass it in --sizes only on
a machine of your own.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ontochron.ingest.snapshot import CodeStack, Snapshot  # noqa: E402
from ontochron.ontology import structure as current  # noqa: E402
from tests.synthetic import drifting_stack  # noqa: E402


def load_baseline(rev: str):  # noqa: ANN201 - a module
    """The structure module of git revision ``rev``, imported under another name."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:ontochron/ontology/structure.py"],
                         check=True, capture_output=True, text=True).stdout
    tmp = Path(tempfile.mkdtemp()) / "structure_baseline.py"
    tmp.write_text(src)
    spec = importlib.util.spec_from_file_location("structure_baseline", tmp)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["structure_baseline"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def timed(mods: tuple, stack, repeat: int  # noqa: ANN001
          ) -> list[tuple[float, float, dict[str, int]]]:
    """Best wall and CPU time of each module's ``structure_over_time``, runs interleaved (base, new,
    base, new, ...) so that a change of host load hits both."""
    best = [(float("inf"), float("inf"), {}) for _ in mods]
    for _ in range(repeat):
        for k, mod in enumerate(mods):
            t0, c0 = time.perf_counter(), time.process_time()
            _, _, counts = mod.structure_over_time(stack, mod.StructureConfig())
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            best[k] = (min(best[k][0], dt), min(best[k][1], dc), counts)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["2048x1000x4", "4096x2000x3"],
                    help="FEATURESxCONCEPTSxSTEPS")
    ap.add_argument("--density", type=float, default=0.02)
    ap.add_argument("--baseline", default="HEAD~3", help="git revision to compare with")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", choices=("drifting", "planted"), default="drifting",
                    help="bench_scale's drifting stack, or bench_vs_reptimeline's codes with "
                         "planted duals, dependencies and AND gates")
    args = ap.parse_args()
    base = load_baseline(args.baseline)
    print(f"baseline {args.baseline} vs this checkout; density {args.density}; "
          f"best of {args.repeat}")
    for size in args.sizes:
        f, c, t = (int(v) for v in size.lower().split("x"))
        if args.data == "drifting":
            stack = drifting_stack(t, c, f, density=args.density)
        else:
            from bench_vs_reptimeline import generate

            stack = CodeStack.from_snapshots(Snapshot.create(s, n, x) for s, n, x in
                                             generate(c, f, t, 0, args.density))
        (tb, pb, cb), (tn, pn, cn) = timed((base, current), stack, args.repeat)
        keys = ("dual_total", "dependency_total", "triad_total")
        print(f"{f:>6} x {c:>5} x {t:>3}: baseline {tb:7.2f} s wall {pb:7.2f} s cpu, "
              f"new {tn:7.2f} s wall {pn:7.2f} s cpu; ratio wall {tn / tb:.3f} "
              f"cpu {pn / pb:.3f}; "
              f"found base {[cb.get(k) for k in keys]} new {[cn.get(k) for k in keys]}",
              flush=True)


if __name__ == "__main__":
    main()
