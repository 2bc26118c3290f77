"""Checkpoint discovery: step patterns, override, duplicates, and the extract loop."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from ontochron.errors import InputError
from ontochron.ingest import (
    BinaryExtractor,
    discover_checkpoints,
    iter_extracted,
    load_stack,
    parse_step,
)
from ontochron.ingest.readers import save_npz


@pytest.mark.parametrize("name,step", [
    ("step1000", 1000), ("step_1000", 1000), ("step-1000.pt", 1000), ("STEP42.bin", 42),
    ("checkpoint-1000", 1000), ("checkpoint_1000.pt", 1000), ("ckpt_7.safetensors", 7),
    ("model_step4.pt", 4), ("model_xl_step5000.pt", 5000), ("global_step300", 300),
    ("epoch12", 12), ("model_epoch_3.pt", 3), ("epoch3_step1000.pt", 1000),
    ("1000.pt", 1000), ("250", 250),
    ("model_best.pt", None), ("timestep9.pt", None), ("model_v2.pt", None),
    ("final.ckpt", None), ("runs/step5/model_best.pt", None),
])
def test_builtin_patterns(name, step):
    assert parse_step(name) == step


def test_step_pattern_override():
    assert parse_step("iter300.bin", r"iter(\d+)") == 300
    assert parse_step("step100_iter300.bin", r"iter(\d+)") == 300  # override replaces built-ins
    assert parse_step("model_best.pt", r"iter(\d+)") is None
    with pytest.raises(InputError, match="one capture group"):
        parse_step("x", r"iter\d+")
    with pytest.raises(InputError, match="not a valid regex"):
        parse_step("x", r"iter(\d+")
    with pytest.raises(InputError, match="not an integer"):
        parse_step("iterabc", r"iter(\w+)")


def test_discover_directory(tmp_path):
    for name in ("step_300.pt", "model_step20.pt", "model_best.pt", ".step_1.pt", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "checkpoint-100").mkdir()  # Hugging Face style checkpoint directory
    found = discover_checkpoints(tmp_path)
    assert found == [(20, tmp_path / "model_step20.pt"), (100, tmp_path / "checkpoint-100"),
                     (300, tmp_path / "step_300.pt")]
    assert discover_checkpoints(str(tmp_path / "*.pt")) == [
        (20, tmp_path / "model_step20.pt"), (300, tmp_path / "step_300.pt")]
    assert discover_checkpoints(tmp_path, r"^step_(\d+)\.pt$") == [
        (300, tmp_path / "step_300.pt")]


def test_discover_errors(tmp_path):
    (tmp_path / "step_100.pt").write_bytes(b"x")
    (tmp_path / "checkpoint-100.pt").write_bytes(b"x")
    with pytest.raises(InputError, match="duplicate step 100") as info:
        discover_checkpoints(tmp_path)
    assert "step_100.pt" in str(info.value) and "checkpoint-100.pt" in str(info.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "model_best.pt").write_bytes(b"x")
    with pytest.raises(InputError, match="no checkpoints") as info:
        discover_checkpoints(empty)
    assert info.value.path == os.fspath(empty)
    with pytest.raises(InputError, match="no such file"):
        discover_checkpoints(tmp_path / "missing")


def test_iter_extracted_from_checkpoint_files(tmp_path):
    """Planted activations per checkpoint -> known codes per step, via the generic loop."""
    plan = {5: {"cat": [[0.9, 0.1], [0.8, 0.2], [0.1, 0.1]], "dog": [[0.0, 0.7]]},
            15: {"cat": [[0.1, 0.9]], "dog": [[0.9, 0.9], [0.9, 0.0]]}}
    for step, acts in plan.items():
        np.savez(tmp_path / f"model_step{step}.npz", **{c: np.array(a) for c, a in acts.items()})

    def activations_fn(path):
        with np.load(path) as z:
            return {c: torch.tensor(z[c], requires_grad=True) for c in z.files}

    ckpts = discover_checkpoints(tmp_path)
    snaps = list(iter_extracted(ckpts, activations_fn, BinaryExtractor(0.5), progress=False))
    assert [s.step for s in snaps] == [5, 15]
    s5 = dict(zip(snaps[0].concepts, snaps[0].dense().tolist(), strict=True))
    assert s5 == {"cat": [True, False], "dog": [False, True]}  # cat: 2 of 3 inputs -> on
    s15 = dict(zip(snaps[1].concepts, snaps[1].dense().tolist(), strict=True))
    assert s15 == {"cat": [False, True], "dog": [True, False]}  # dog f1: 1 of 2 -> off
    assert snaps[0].source == os.fspath(tmp_path / "model_step5.npz")
    assert snaps[0].metadata["extractor"] == "binary"
    save_npz(snaps, tmp_path / "run.npz")  # and the result is a valid run
    assert load_stack(tmp_path / "run.npz").steps.tolist() == [5, 15]


def test_iter_extracted_rejects_non_mapping(tmp_path):
    with pytest.raises(InputError, match="expected a mapping"):
        list(iter_extracted([(1, tmp_path)], lambda p: [1, 2], BinaryExtractor(),
                            progress=False))
