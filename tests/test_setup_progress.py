"""scripts/setup.sh says what it is doing (issue 20, item 6: `make demo` used to spend minutes
in set-up printing nothing): one short line per step, the install commands unchanged. Run in
a scratch copy whose .venv python is a stand-in recording the pip calls (no network)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_prints_a_line_per_step(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    log = tmp_path / "calls.log"
    stub = venv_bin / "python"
    stub.write_text(f'#!/usr/bin/env bash\necho "$*" >> {log}\n')
    stub.chmod(0o755)
    res = subprocess.run(["bash", str(tmp_path / "scripts" / "setup.sh")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "setup: .venv exists; checking its packages"
    assert any(ln.startswith("setup: installing torch 2.13.0") for ln in lines)
    assert any(ln.startswith("setup: installing ontochron") for ln in lines)
    assert lines[-1].startswith("setup: done in ")
    calls = log.read_text().splitlines()
    assert any("torch==2.13.0" in c for c in calls)
    assert any('-e .[test,parquet]' in c for c in calls)
