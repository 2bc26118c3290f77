"""Write the SAE conformance fixtures of tests/fixtures/sae/ with the real libraries.

Every SAE here is built and trained with its library's own classes (and, where the library has
one, its own trainer), saved with the library's own save function into the library's own output
tree, and encoded by the library's own ``encode()`` on fixed inputs; the result goes next to it
as ``reference.npz`` (``inputs`` (300, d_in), ``acts`` (300, n_latents)). ontochron's tests
(tests/test_sae_conformance.py) compare their own encoding with these, without the libraries.

Run it with tools/sae_fixtures/run.sh (its own virtualenv, pinned versions); see README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

warnings.filterwarnings("ignore")

D_IN, N_LAT = 16, 32              # conformance SAEs
WARM_D, WARM_N, WARM_STEPS = 32, 64, 4  # warm-started runs
N_INPUTS = 300
SEED = 0


# ----------------------------------------------------------------------------- data

def _truth(d: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n, d))
    return (g / np.linalg.norm(g, axis=1, keepdims=True)).astype(np.float32)


def sparse_data(n: int, d: int, seed: int, n_true: int = 48) -> torch.Tensor:
    """Sparse combinations of fixed directions plus noise and an offset (so b_dec matters)."""
    rng = np.random.default_rng(seed)
    dirs = _truth(d, n_true, 1234 + d)
    on = rng.random((n, n_true)) < 4.0 / n_true
    coef = on * rng.exponential(1.5, (n, n_true))
    x = coef @ dirs + 0.05 * rng.standard_normal((n, d)) + 0.3
    return torch.tensor(x, dtype=torch.float32)


def batches(d: int, seed: int, batch: int = 64):
    """An endless iterator of training batches (what the trainers call a data provider)."""
    i = 0
    while True:
        yield sparse_data(batch, d, seed * 100_003 + i)
        i += 1


def inputs(d: int = D_IN) -> torch.Tensor:
    return sparse_data(N_INPUTS, d, 99_999) * 1.3


def write_reference(folder: Path, x: torch.Tensor, acts: torch.Tensor) -> None:
    a = acts.detach().float().cpu().numpy().astype(np.float32)
    np.savez_compressed(folder / "reference.npz", inputs=x.numpy().astype(np.float32), acts=a)


CASES: list[dict[str, Any]] = []


def case(name: str, library: str, architecture: str, folder: Path, root: Path,
         sae: str | None = None, how: str = "") -> None:
    CASES.append({"name": name, "library": library, "architecture": architecture,
                  "folder": folder.relative_to(root).as_posix(), "sae": sae, "how": how})


# ----------------------------------------------------------------------------- SAELens

def saelens_train(sae: Any, steps: int, seed: int, ckpt_dir: Path | None = None) -> Any:
    """Train with SAELens' own SAETrainer; with ckpt_dir its save_checkpoint writes
    ``ckpt_dir/final_<n_samples>/`` (cfg.json, sae_weights.safetensors, sparsity,
    trainer_state.pt)."""
    from sae_lens.config import SAETrainerConfig
    from sae_lens.training.sae_trainer import SAETrainer

    batch = 64
    cfg = SAETrainerConfig(total_training_samples=steps * batch, train_batch_size_samples=batch,
                           lr=3e-3, lr_end=3e-3, device="cpu",
                           checkpoint_path=None if ckpt_dir is None else str(ckpt_dir),
                           save_final_checkpoint=ckpt_dir is not None,
                           dead_feature_window=50, feature_sampling_window=50)
    trainer = SAETrainer(cfg=cfg, sae=sae, data_provider=batches(sae.cfg.d_in, seed))
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return trainer.fit()


def saelens_training_sae(arch: str, d: int, n: int, **kw: Any) -> Any:
    from sae_lens.saes import (
        BatchTopKTrainingSAE,
        BatchTopKTrainingSAEConfig,
        GatedTrainingSAE,
        GatedTrainingSAEConfig,
        JumpReLUTrainingSAE,
        JumpReLUTrainingSAEConfig,
        MatryoshkaBatchTopKTrainingSAE,
        MatryoshkaBatchTopKTrainingSAEConfig,
        StandardTrainingSAE,
        StandardTrainingSAEConfig,
        TopKTrainingSAE,
        TopKTrainingSAEConfig,
    )

    classes = {
        "standard": (StandardTrainingSAE, StandardTrainingSAEConfig, {"l1_coefficient": 0.3}),
        "topk": (TopKTrainingSAE, TopKTrainingSAEConfig, {"k": 4}),
        "batchtopk": (BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig, {"k": 4}),
        "jumprelu": (JumpReLUTrainingSAE, JumpReLUTrainingSAEConfig,
                     {"l0_coefficient": 0.05, "jumprelu_init_threshold": 0.05}),
        "gated": (GatedTrainingSAE, GatedTrainingSAEConfig, {"l1_coefficient": 0.3}),
        "matryoshka_batchtopk": (MatryoshkaBatchTopKTrainingSAE,
                                 MatryoshkaBatchTopKTrainingSAEConfig,
                                 {"k": 4, "matryoshka_widths": [n // 4, n // 2, n]}),
    }
    cls, cfg_cls, extra = classes[arch]
    torch.manual_seed(SEED)
    return cls(cfg_cls(d_in=d, d_sae=n, **{**extra, **kw}))


def saelens_cases(root: Path) -> None:
    from sae_lens import SAE

    x = inputs()
    base = root / "saelens"
    # inference saves: train, then the library's save_inference_model; reference: the
    # library's loader (SAE.load_from_disk) and its encode()
    inference = {
        "standard": ("standard", {}),
        "topk": ("topk", {}),                       # rescale_acts_by_decoder_norm folded
        "topk_no_rescale": ("topk", {"rescale_acts_by_decoder_norm": False}),
        "jumprelu": ("jumprelu", {}),
        "gated": ("gated", {}),
        "batchtopk": ("batchtopk", {}),             # saved as JumpReLU at the learned threshold
        "standard_layer_norm": ("standard", {"normalize_activations": "layer_norm"}),
        "jumprelu_constant_norm_rescale": ("jumprelu",
                                           {"normalize_activations": "constant_norm_rescale"}),
        "standard_no_b_dec_input": ("standard", {"apply_b_dec_to_input": False}),
    }
    for name, (arch, kw) in inference.items():
        sae = saelens_train(saelens_training_sae(arch, D_IN, N_LAT, **kw), 150, seed=1)
        folder = base / name
        sae.save_inference_model(folder)
        loaded = SAE.load_from_disk(str(folder))
        with torch.no_grad():
            write_reference(folder, x, loaded.encode(x))
        case(f"saelens/{name}", "sae-lens", loaded.cfg.architecture(), folder, root,
             how="TrainingSAE.save_inference_model; SAE.load_from_disk(...).encode")
    # training checkpoints: SAETrainer.save_checkpoint -> <checkpoint_path>/final_<n>/
    for arch in ("standard", "topk", "batchtopk", "jumprelu", "gated", "matryoshka_batchtopk"):
        folder = base / f"checkpoint_{arch}"
        sae = saelens_train(saelens_training_sae(arch, D_IN, N_LAT), 150, seed=2,
                            ckpt_dir=folder)
        with torch.no_grad():
            if arch in ("batchtopk", "matryoshka_batchtopk"):
                # batch top-k codes depend on the other inputs of the batch: SAELens' own
                # inference conversion (JumpReLU at the learned threshold) is the reference
                with tempfile.TemporaryDirectory() as tmp:
                    sae.save_inference_model(tmp)
                    acts = SAE.load_from_disk(tmp).encode(x)
                how = "SAETrainer.save_checkpoint; save_inference_model -> JumpReLU encode"
            else:
                acts = sae.encode(x)
                how = "SAETrainer.save_checkpoint; the training SAE's encode"
        write_reference(folder, x, acts)
        case(f"saelens/checkpoint_{arch}", "sae-lens", f"{arch} (training checkpoint)",
             folder, root, how=how)


def saelens_warm(root: Path) -> None:
    """A TopK run whose every checkpoint starts from the previous one's weights."""
    run = root / "warm" / "saelens"
    prev = None
    for i in range(WARM_STEPS):
        sae = saelens_training_sae("topk", WARM_D, WARM_N)
        if prev is not None:
            sae.load_state_dict(prev)
        sae = saelens_train(sae, 40 if i else 200, seed=10 + i,
                            ckpt_dir=run / f"step_{(i + 1) * 1000}")
        prev = {k: v.detach().clone() for k, v in sae.state_dict().items()}


# ----------------------------------------------------------------------------- sparsify

def sparsify_train(sae: Any, steps: int, seed: int, transcode: bool = False) -> Any:
    """A few Adam steps on the SparseCoder's own forward loss (fvu + auxk)."""
    opt = torch.optim.Adam(sae.parameters(), lr=3e-3)
    data = batches(sae.d_in, seed)
    for _ in range(steps):
        xb = next(data)
        out = sae(xb, xb.flip(-1) if transcode else None)
        loss = out.fvu + out.auxk_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sae.cfg.normalize_decoder and not transcode:
            sae.set_decoder_norm_to_unit_norm()
    return sae


def sparsify_dense(sae: Any, x: torch.Tensor) -> torch.Tensor:
    values, indices, _ = sae.encode(x)
    return torch.zeros(x.shape[0], sae.num_latents).scatter(-1, indices, values)


def sparsify_cases(root: Path) -> None:
    from sparsify import SparseCoder, SparseCoderConfig

    x = inputs()
    cfgs = {
        # num_latents 0: the library default, expansion_factor * d_in latents
        "topk": SparseCoderConfig(k=4, expansion_factor=2),
        "groupmax": SparseCoderConfig(activation="groupmax", k=4, expansion_factor=2),
        "topk_num_latents": SparseCoderConfig(k=5, num_latents=N_LAT),
        "transcoder": SparseCoderConfig(k=4, expansion_factor=2, transcode=True),
    }
    for name, cfg in cfgs.items():
        torch.manual_seed(SEED)
        sae = sparsify_train(SparseCoder(D_IN, cfg), 150, seed=3, transcode=cfg.transcode)
        run = root / "sparsify" / name          # <save_dir>/<run_name>/
        sae.save_to_disk(run / "layers.0")      # what Trainer.save writes per hookpoint
        loaded = SparseCoder.load_from_disk(run / "layers.0")
        with torch.no_grad():
            write_reference(run, x, sparsify_dense(loaded, x))
        case(f"sparsify/{name}", "eai-sparsify", cfg.activation + (" transcoder"
             if cfg.transcode else ""), run, root,
             how="SparseCoder.save_to_disk(<run>/layers.0); load_from_disk(...).encode")


def sparsify_warm(root: Path) -> None:
    from sparsify import SparseCoder, SparseCoderConfig

    run = root / "warm" / "sparsify"
    prev = None
    for i in range(WARM_STEPS):
        torch.manual_seed(SEED)
        sae = SparseCoder(WARM_D, SparseCoderConfig(k=4, expansion_factor=WARM_N // WARM_D))
        if prev is not None:
            sae.load_state_dict(prev)
        sae = sparsify_train(sae, 40 if i else 200, seed=20 + i)
        sae.save_to_disk(run / f"step_{(i + 1) * 1000}" / "layers.0")
        prev = {k: v.detach().clone() for k, v in sae.state_dict().items()}


# ----------------------------------------------------------------------------- dictionary_learning

def dl_trainers(d: int, n: int, steps: int, warm_from: dict[str, Any] | None = None
                ) -> list[dict[str, Any]]:
    from dictionary_learning.dictionary import AutoEncoder, GatedAutoEncoder, JumpReluAutoEncoder
    from dictionary_learning.trainers import (
        BatchTopKTrainer,
        GatedSAETrainer,
        JumpReluTrainer,
        StandardTrainer,
        TopKTrainer,
    )
    from dictionary_learning.trainers.batch_top_k import BatchTopKSAE
    from dictionary_learning.trainers.matryoshka_batch_top_k import (
        MatryoshkaBatchTopKSAE,
        MatryoshkaBatchTopKTrainer,
    )
    from dictionary_learning.trainers.top_k import AutoEncoderTopK

    common = {"steps": steps, "activation_dim": d, "dict_size": n, "layer": 0,
              "lm_name": "fixture", "device": "cpu", "seed": SEED}
    start = min(50, steps // 3)
    out = [
        {"trainer": StandardTrainer, "dict_class": AutoEncoder, "lr": 3e-3, "warmup_steps": 10,
         "sparsity_warmup_steps": 20, "l1_penalty": 0.05},
        {"trainer": TopKTrainer, "dict_class": AutoEncoderTopK, "k": 4, "lr": 3e-3,
         "warmup_steps": 10, "threshold_start_step": start},
        {"trainer": BatchTopKTrainer, "dict_class": BatchTopKSAE, "k": 4, "lr": 3e-3,
         "warmup_steps": 10, "threshold_start_step": start},
        {"trainer": JumpReluTrainer, "dict_class": JumpReluAutoEncoder, "lr": 3e-3,
         "warmup_steps": 10, "sparsity_warmup_steps": 20, "target_l0": 4.0},
        {"trainer": GatedSAETrainer, "dict_class": GatedAutoEncoder, "lr": 3e-3,
         "warmup_steps": 10, "sparsity_warmup_steps": 20, "l1_penalty": 0.05},
        {"trainer": MatryoshkaBatchTopKTrainer, "dict_class": MatryoshkaBatchTopKSAE, "k": 4,
         "lr": 3e-3, "warmup_steps": 10, "threshold_start_step": start,
         "group_fractions": [0.25, 0.25, 0.5]},
    ]
    for cfg in out:
        cfg.update(common)
        if "sparsity_warmup_steps" not in cfg and cfg["trainer"] in (StandardTrainer,):
            cfg["sparsity_warmup_steps"] = 20
    if warm_from is not None:  # start every trainer's dictionary from the given weights
        for cfg in out:
            cfg["dict_class"] = _warm_class(cfg["dict_class"], warm_from)
    return out


def _warm_class(cls: type, state: dict[str, Any]) -> type:
    class Warm(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.load_state_dict(state)

    Warm.__name__ = cls.__name__
    return Warm


def dl_train(save_dir: Path, trainers: list[dict[str, Any]], steps: int, d: int,
             seed: int) -> None:
    import contextlib
    import io

    from dictionary_learning.training import trainSAE

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        trainSAE(data=batches(d, seed), trainer_configs=trainers, steps=steps,
                 save_dir=str(save_dir), device="cpu")


def dl_load(folder: Path) -> Any:
    """The library's own loader for a trainer folder (``from_pretrained`` of its dict_class)."""
    from dictionary_learning.dictionary import AutoEncoder, GatedAutoEncoder, JumpReluAutoEncoder
    from dictionary_learning.trainers.batch_top_k import BatchTopKSAE
    from dictionary_learning.trainers.matryoshka_batch_top_k import MatryoshkaBatchTopKSAE
    from dictionary_learning.trainers.top_k import AutoEncoderTopK

    name = json.loads((folder / "config.json").read_text())["trainer"]["dict_class"]
    cls = {"AutoEncoder": AutoEncoder, "GatedAutoEncoder": GatedAutoEncoder,
           "JumpReluAutoEncoder": JumpReluAutoEncoder, "BatchTopKSAE": BatchTopKSAE,
           "MatryoshkaBatchTopKSAE": MatryoshkaBatchTopKSAE,
           "AutoEncoderTopK": AutoEncoderTopK}[name]
    path = str(folder / "ae.pt")
    if name in ("GatedAutoEncoder", "AutoEncoderTopK"):
        return name, cls.from_pretrained(path)  # static methods in this version
    return name, cls.from_pretrained(path)


def dictionary_learning_cases(root: Path) -> None:
    x = inputs()
    save_dir = root / "dictionary_learning" / "all"
    trainers = dl_trainers(D_IN, N_LAT, 300)
    dl_train(save_dir, trainers, 300, D_IN, seed=4)
    for i in range(len(trainers)):
        sub = save_dir / f"trainer_{i}"
        name, ae = dl_load(sub)
        with torch.no_grad():
            acts = ae.encode(x)
        np.savez_compressed(sub.parent / f"reference_trainer_{i}.npz",
                            inputs=x.numpy(), acts=acts.float().numpy())
        case(f"dictionary_learning/{name}", "dictionary-learning", name, save_dir, root,
             sae=f"trainer_{i}", how="trainSAE(save_dir=...); <dict_class>.from_pretrained(ae.pt)"
             ".encode")
        CASES[-1]["reference"] = f"reference_trainer_{i}.npz"


def dictionary_learning_warm(root: Path) -> None:
    """A TopK run: every checkpoint's trainer starts from the previous checkpoint's ae.pt."""
    from dictionary_learning.trainers import TopKTrainer
    from dictionary_learning.trainers.top_k import AutoEncoderTopK

    run = root / "warm" / "dictionary_learning"
    prev = None
    for i in range(WARM_STEPS):
        steps = 100 if i else 300
        cls = AutoEncoderTopK if prev is None else _warm_class(AutoEncoderTopK, prev)
        cfg = {"trainer": TopKTrainer, "dict_class": cls, "k": 4, "lr": 1e-2 if i else 3e-3,
               "warmup_steps": 1 if i else 10, "threshold_start_step": 10_000, "steps": steps,
               "activation_dim": WARM_D, "dict_size": WARM_N, "layer": 0,
               "lm_name": "fixture", "device": "cpu", "seed": SEED}
        ckpt = run / f"step_{(i + 1) * 1000}"
        dl_train(ckpt, [cfg], steps, WARM_D, seed=30 + i)
        prev = torch.load(ckpt / "trainer_0" / "ae.pt", weights_only=True)


# ----------------------------------------------------------------------------- Gemma Scope

def gemmascope_cases(root: Path) -> None:
    """Gemma Scope's params.npz has no library writer: the arrays its release holds, and its
    tutorial's JumpReLU encode (``mask = pre > threshold; relu(pre) * mask``), in torch."""
    x = inputs()
    rng = np.random.default_rng(5)
    W_enc = rng.standard_normal((D_IN, N_LAT)).astype(np.float32) * 0.5
    W_dec = rng.standard_normal((N_LAT, D_IN)).astype(np.float32) * 0.3
    b_enc = rng.normal(0, 0.2, N_LAT).astype(np.float32)
    b_dec = rng.normal(0, 0.2, D_IN).astype(np.float32)
    thr = np.abs(rng.normal(0.6, 0.3, N_LAT)).astype(np.float32)
    folder = root / "gemmascope" / "layer_0" / "width_32" / "average_l0_5"
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "params.npz", W_enc=W_enc, W_dec=W_dec, b_enc=b_enc, b_dec=b_dec,
             threshold=thr)
    pre = x @ torch.tensor(W_enc) + torch.tensor(b_enc)
    acts = (pre > torch.tensor(thr)) * torch.relu(pre)
    write_reference(folder, x, acts)
    case("gemmascope/jumprelu", "gemma-scope", "jumprelu", folder, root,
         how="params.npz; pre > threshold, relu(pre)")


# ----------------------------------------------------------------------------- main

def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("sae-lens", "eai-sparsify", "dictionary-learning", "torch")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2]
                                         / "tests" / "fixtures" / "sae"))
    args = ap.parse_args()
    root = Path(args.out)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    torch.set_num_threads(1)
    saelens_cases(root)
    sparsify_cases(root)
    dictionary_learning_cases(root)
    gemmascope_cases(root)
    saelens_warm(root)
    sparsify_warm(root)
    dictionary_learning_warm(root)
    manifest = {"versions": versions(), "inputs": N_INPUTS, "cases": CASES,
                "warm": {lib: f"warm/{lib}" for lib in ("saelens", "sparsify",
                                                        "dictionary_learning")}}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(CASES)} conformance cases and 3 warm-started runs to {root}")


if __name__ == "__main__":
    main()
