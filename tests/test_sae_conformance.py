"""ontochron encodes every SAE exactly as its own library does: the fixtures in
tests/fixtures/sae/ were written by sae-lens, eai-sparsify and dictionary-learning themselves
(their own classes, trainers, save functions and output trees; tools/sae_fixtures/generate.py)
together with the library's own ``encode()`` of 300 fixed inputs. Each case here reads the
checkpoint folder as a user would point ontochron at it (the SAE found inside it, ``--sae``
where a folder holds several) and must give the same active latents on every input and the
same values within 1e-5."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ontochron.errors import InputError
from ontochron.ingest.extractors import SAEExtractor
from ontochron.sae import find_sae, load_sae

ROOT = Path(__file__).parent / "fixtures" / "sae"
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
CASES = {c["name"]: c for c in MANIFEST["cases"]}


def _reference(case: dict) -> tuple[np.ndarray, np.ndarray]:
    with np.load(ROOT / case["folder"] / case.get("reference", "reference.npz")) as z:
        return z["inputs"], z["acts"]


def test_manifest_pins_the_library_versions():
    assert MANIFEST["versions"]["sae-lens"] == "6.54.12"
    assert MANIFEST["versions"]["eai-sparsify"] == "1.3.3"
    assert MANIFEST["versions"]["dictionary-learning"] == "0.1.0"
    libs = {c["library"] for c in MANIFEST["cases"]}
    assert libs == {"sae-lens", "eai-sparsify", "dictionary-learning", "gemma-scope"}


@pytest.mark.parametrize("name", list(CASES))
def test_encodes_as_the_library(name):
    case = CASES[name]
    x, want = _reference(case)
    sae = load_sae(ROOT / case["folder"], sae=case["sae"])
    got = sae.encode(x)
    assert got.shape == want.shape and x.shape[0] == MANIFEST["inputs"]
    assert (want > 0).any(axis=1).mean() > 0.5      # the reference encodes something
    bad = np.nonzero(((got > 0) != (want > 0)).any(axis=1))[0]
    assert bad.size == 0, f"{bad.size} of {x.shape[0]} inputs get other active latents"
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["saelens/checkpoint_topk", "dictionary_learning/BatchTopKSAE",
                                  "sparsify/groupmax"])
def test_extractor_uses_the_same_encoder(name):
    case = CASES[name]
    x, want = _reference(case)
    ext = SAEExtractor.from_folder(ROOT / case["folder"], sae=case["sae"])
    codes, f = ext.encode(x)
    np.testing.assert_array_equal(f > 0, want > 0)
    np.testing.assert_allclose(f, want, atol=1e-5)


def test_the_wrong_cases_of_issue_18_were_wrong():
    """The encodings the old reader used differ from the library on these fixtures, so the
    cases above can fail: b_dec subtracted for JumpReluAutoEncoder, per-input TopK for
    BatchTopKSAE, rescale_acts_by_decoder_norm ignored, groupmax read as TopK."""
    from dataclasses import replace

    def differs(name, **change):
        case = CASES[name]
        x, want = _reference(case)
        sae = replace(load_sae(ROOT / case["folder"], sae=case["sae"]), **change)
        return int(((sae.encode(x) > 0) != (want > 0)).any(axis=1).sum())

    jr = load_sae(ROOT / "dictionary_learning/all", sae="trainer_3")
    assert jr.kind == "JumpReluAutoEncoder" and jr.pre_bias is None
    assert differs("dictionary_learning/JumpReluAutoEncoder", pre_bias=jr.b_dec) > 0
    btk = load_sae(ROOT / "dictionary_learning/all", sae="trainer_2")
    assert differs("dictionary_learning/BatchTopKSAE", architecture="topk", k=4,
                   threshold=None) > 0 and btk.architecture == "jumprelu"
    assert differs("saelens/checkpoint_topk", scale=None) > 0
    assert differs("sparsify/groupmax", architecture="topk") > 0


def test_library_trees_are_found_without_options():
    assert find_sae(ROOT / "saelens/checkpoint_topk").name.startswith("final_")
    assert find_sae(ROOT / "sparsify/topk").name == "layers.0"
    with pytest.raises(InputError, match="6 SAEs.*trainer_0.*trainer_5.*--sae"):
        find_sae(ROOT / "dictionary_learning/all")
    assert find_sae(ROOT / "dictionary_learning/all", "trainer_[4]").name == "trainer_4"
    with pytest.raises(InputError, match="matches 6 SAE folders"):
        find_sae(ROOT / "dictionary_learning/all", "trainer_*")
    with pytest.raises(InputError, match="matches no SAE folder.*trainer_0"):
        find_sae(ROOT / "dictionary_learning/all", "nope")


def test_saelens_takes_the_final_checkpoint(tmp_path):
    import shutil

    src = ROOT / "saelens/checkpoint_standard"
    final = next(src.glob("final_*"))
    shutil.copytree(final, tmp_path / "ckpt" / "100")
    shutil.copytree(final, tmp_path / "ckpt" / final.name)
    shutil.copytree(final, tmp_path / "ckpt" / "999999")
    assert find_sae(tmp_path / "ckpt").name == final.name


@pytest.mark.parametrize("lib", ["saelens", "sparsify", "dictionary_learning"])
def test_warm_started_runs_read_as_lineages(lib):
    """The warm-started runs (each checkpoint trained on from the previous one) are read by
    the lineage path from the libraries' own trees, the SAE one folder down."""
    from ontochron.ingest.dictionaries import dictionary_checkpoints, iter_dictionaries

    run = ROOT / MANIFEST["warm"][lib]
    ckpts = dictionary_checkpoints(run)
    assert [s for s, _ in ckpts] == [1000, 2000, 3000, 4000]
    saes = [d for _, d in iter_dictionaries(ckpts)]
    assert {(d.n_latents, d.d_in) for d in saes} == {(64, 32)}
    unit = [d.W_dec / np.linalg.norm(d.W_dec, axis=1, keepdims=True) for d in saes]
    self_cos = [np.einsum("ij,ij->i", a, b) for a, b in zip(unit[:-1], unit[1:], strict=True)]
    # warm-started: latent i keeps its identity, most decoders barely move
    assert all((c >= 0.9).mean() > 0.5 for c in self_cos)
