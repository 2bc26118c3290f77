"""What a reader does not understand is one InputError naming the file and the key, never a
guess: tested on copies of the real libraries' folders (tests/fixtures/sae) with one thing
changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ontochron.errors import InputError
from ontochron.sae import find_sae, load_sae

FIX = Path(__file__).parent / "fixtures" / "sae"


def _copy(tmp_path: Path, rel: str, sae: str | None = None) -> Path:
    dst = tmp_path / "c"
    shutil.copytree(FIX / rel, dst)
    return find_sae(dst, sae)


def _edit(path: Path, **change) -> None:
    cfg = json.loads(path.read_text())
    for k, v in change.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        elif v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    path.write_text(json.dumps(cfg))


CASES = [
    # (fixture, sae, config file, change, file named, words in the message)
    ("saelens/topk", None, "cfg.json", {"architecture": "temporal"}, "cfg.json",
     "'architecture' is 'temporal'"),
    ("saelens/standard", None, "cfg.json", {"normalize_activations": "covariance_whitening"},
     "cfg.json", "'normalize_activations' is 'covariance_whitening'"),
    ("saelens/standard", None, "cfg.json", {"d_sae": 33}, "cfg.json", "'d_sae' is 33"),
    ("saelens/checkpoint_topk", None, "cfg.json", {"rescale_acts_by_decoder_norm": "yes"},
     "cfg.json", "'rescale_acts_by_decoder_norm'"),
    ("saelens/checkpoint_topk", None, "cfg.json", {"k": None}, "cfg.json", "'k'"),
    ("sparsify/topk", None, "cfg.json", {"activation": "abs_topk"}, "cfg.json",
     "'activation' is 'abs_topk'"),
    ("sparsify/topk", None, "cfg.json", {"expansion_factor": 3}, "cfg.json",
     "'expansion_factor'"),
    ("sparsify/topk", None, "cfg.json", {"num_latents": 48}, "cfg.json", "'num_latents' is 48"),
    ("dictionary_learning/all", "trainer_0", "config.json",
     {"trainer": {"dict_class": "AutoEncoderNew"}}, "config.json",
     "'trainer.dict_class' is 'AutoEncoderNew'"),
    ("dictionary_learning/all", "trainer_1", "config.json", {"trainer": {"k": 7}},
     "config.json", "'trainer.k' is 7"),
    ("dictionary_learning/all", "trainer_2", "config.json", {"trainer": {"dict_size": 64}},
     "config.json", "'trainer.dict_size' is 64"),
]


@pytest.mark.parametrize("fixture, sae, cfg, change, named, words", CASES)
def test_refused_with_file_and_key(tmp_path, fixture, sae, cfg, change, named, words):
    folder = _copy(tmp_path, fixture, sae)
    load_sae(folder)                       # unchanged, it reads
    _edit(folder / cfg, **change)
    with pytest.raises(InputError) as err:
        load_sae(folder)
    assert err.value.path.endswith(named) and words in str(err.value), str(err.value)


def test_batchtopk_checkpoint_without_its_threshold(tmp_path):
    from safetensors.numpy import load_file, save_file

    folder = _copy(tmp_path, "saelens/checkpoint_batchtopk")
    w = load_file(folder / "sae_weights.safetensors")
    del w["topk_threshold"]
    save_file(w, folder / "sae_weights.safetensors")
    with pytest.raises(InputError, match="'topk_threshold'") as err:
        load_sae(folder)
    assert err.value.path.endswith("sae_weights.safetensors")


def test_topk_and_batchtopk_need_config_to_tell_apart(tmp_path):
    folder = _copy(tmp_path, "dictionary_learning/all", "trainer_2")
    (folder / "config.json").unlink()
    with pytest.raises(InputError, match="BatchTopKSAE.*config.json") as err:
        load_sae(folder)
    assert err.value.path.endswith("ae.pt")
    # keys that can only come from one class are read without config.json
    jr = _copy(tmp_path / "j", "dictionary_learning/all", "trainer_3")
    (jr / "config.json").unlink()
    assert load_sae(jr).kind == "JumpReluAutoEncoder" and load_sae(jr).pre_bias is None


def test_gemmascope_hparams_checked(tmp_path):
    folder = _copy(tmp_path, "gemmascope/layer_0/width_32/average_l0_5")
    (folder / "hparams.json").write_text(json.dumps({"d_in": 16, "d_sae": 32}))
    assert load_sae(folder).n_latents == 32
    (folder / "hparams.json").write_text(json.dumps({"d_in": 16, "d_sae": 64}))
    with pytest.raises(InputError, match="'d_sae' is 64") as err:
        load_sae(folder)
    assert err.value.path.endswith("hparams.json")
    (folder / "hparams.json").write_text(json.dumps({"architecture": "topk"}))
    with pytest.raises(InputError, match="'architecture' is 'topk'"):
        load_sae(folder)
