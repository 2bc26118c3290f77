"""Issue 18 item 5 on the real libraries' warm-started runs (tests/fixtures/sae/warm, each
checkpoint trained on from the previous one's weights and saved by the library itself): every
latent whose decoder barely moved (self cosine >= 0.9) stays a continue of itself, and no
other latent is linked to its lineage. Self cosines are computed here from the weight files
(safetensors / torch), not through ontochron's readers; the lineage is read back from the
files the API and the CLI write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from ontochron.lineage.files import write_lineage
from ontochron.lineage.pipeline import lineage_of
from tests.lineage_planted import csv_rows

WARM = Path(__file__).parent / "fixtures" / "sae" / "warm"
LIBS = ["saelens", "sparsify", "dictionary_learning"]
SELF_COS = 0.9


def decoder_rows(lib: str, ckpt: Path) -> np.ndarray:
    """(n_latents, d_in) decoder rows read straight from the file the library saved."""
    if lib == "saelens":   # SAETrainer.save_checkpoint: <ckpt>/final_<n>/sae_weights.safetensors
        (final,) = ckpt.glob("final_*")
        return load_file(str(final / "sae_weights.safetensors"))["W_dec"]
    if lib == "sparsify":  # SparseCoder.save_to_disk: <ckpt>/layers.0/sae.safetensors
        return load_file(str(ckpt / "layers.0" / "sae.safetensors"))["W_dec"]
    # dictionary_learning AutoEncoderTopK: <ckpt>/trainer_0/ae.pt, nn.Linear decoder (d_in, n)
    state = torch.load(ckpt / "trainer_0" / "ae.pt", map_location="cpu", weights_only=True)
    return state["decoder.weight"].T.numpy()


def warm_run(lib: str) -> tuple[list[int], list[np.ndarray]]:
    """The run's steps and unit decoder rows per checkpoint, in step order."""
    ckpts = sorted(WARM.joinpath(lib).glob("step_*"), key=lambda p: int(p.name[5:]))
    units = []
    for c in ckpts:
        W = decoder_rows(lib, c).astype(np.float64)
        units.append(W / np.linalg.norm(W, axis=1, keepdims=True))
    return [int(c.name[5:]) for c in ckpts], units


def warm_bar(out: Path, steps: list[int], units: list[np.ndarray]) -> dict[str, int]:
    """Issue 18's bar on the lineage files in ``out``: per consecutive pair, the latents with
    self cosine >= SELF_COS (``near``), how many keep their lineage id at the same index
    (``kept``), and the links of any other latent to such a lineage (``conflicts``: a second
    latent with its id, or a split/merge/birth/death event or link row naming it)."""
    _, rows = csv_rows(out / "lineage.csv")
    feat = {(int(s), int(i)): int(f) for s, i, f in rows}
    _, events = csv_rows(out / "lineage_events.csv")
    _, links = csv_rows(out / "lineage_links.csv")
    named: dict[int, list[tuple]] = {}
    for kind, s, src, tgt, *_ in events + links:
        named.setdefault(int(s), []).append((kind, src, tgt))
    tot = {"near": 0, "kept": 0, "conflicts": 0}
    for t in range(1, len(steps)):
        prev, step = steps[t - 1], steps[t]
        self_cos = np.einsum("ij,ij->i", units[t - 1], units[t])
        near = np.nonzero(self_cos >= SELF_COS)[0].tolist()
        # a warm start keeps most latents: an empty or tiny set would test nothing
        assert len(near) >= units[t].shape[0] // 2, (step, len(near))
        ids_now = [feat[(step, j)] for j in range(units[t].shape[0])]
        for i in near:
            f = feat[(prev, i)]
            tot["near"] += 1
            tot["kept"] += feat[(step, i)] == f
            tot["conflicts"] += ids_now.count(f) - (feat[(step, i)] == f)
            tot["conflicts"] += sum(str(f) in (src, tgt) for _, src, tgt in named.get(step, []))
    return tot


@pytest.mark.parametrize("lib", LIBS)
def test_warm_started_identities_kept(lib, tmp_path):
    """The Python API (lineage_of + write_lineage) on each library's own warm-started tree."""
    steps, units = warm_run(lib)
    assert steps == [1000, 2000, 3000, 4000]
    lin = lineage_of(WARM / lib)
    assert lin.steps.tolist() == steps
    write_lineage(lin, tmp_path / "lin")
    got = warm_bar(tmp_path / "lin", steps, units)
    assert got["near"] > 0
    assert got["kept"] == got["near"], got
    assert got["conflicts"] == 0, got


def test_warm_started_identities_kept_cli(tmp_path):
    """The same bar through the command line, on the SAELens run (training checkpoints one
    folder down, `final_<n>/`, the run issue 18 found the broken identities on)."""
    out = tmp_path / "lin"
    res = subprocess.run([sys.executable, "-m", "ontochron", "lineage", str(WARM / "saelens"),
                          "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    steps, units = warm_run("saelens")
    got = warm_bar(out, steps, units)
    assert got["near"] > 0 and got["kept"] == got["near"] and got["conflicts"] == 0, got


def test_warm_bar_catches_broken_identities(tmp_path):
    """The check above can fail: on the sparsify run's files with two near-unchanged latents'
    ids swapped at the last step and one extra split naming a third one, it counts them."""
    steps, units = warm_run("sparsify")
    out = tmp_path / "lin"
    write_lineage(lineage_of(WARM / "sparsify"), out)
    clean = warm_bar(out, steps, units)
    assert clean["kept"] == clean["near"] and clean["conflicts"] == 0
    near = np.nonzero(np.einsum("ij,ij->i", units[-2], units[-1]) >= SELF_COS)[0][:3].tolist()
    header, rows = csv_rows(out / "lineage.csv")
    last = {int(r[1]): r for r in rows if int(r[0]) == steps[-1]}
    a, b, c = near
    last[a][2], last[b][2] = last[b][2], last[a][2]
    (out / "lineage.csv").write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    third = [int(r[2]) for r in rows if int(r[0]) == steps[-2] and int(r[1]) == c][0]
    with open(out / "lineage_events.csv", "a") as fh:
        fh.write(f"split,{steps[-1]},{third},999\n")
    got = warm_bar(out, steps, units)
    assert got["near"] == clean["near"]
    assert got["kept"] == clean["kept"] - 2
    assert got["conflicts"] == 2 + 1  # a's id now at b's index and b's at a's; the split
