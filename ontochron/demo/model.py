"""The demo's model: a digits classifier with a 32-bit binary bottleneck, trained on CPU.

The bottleneck is binary in the forward pass (straight-through estimator), so the code the
extractor reads (sigmoid > 0.5) is exactly what the classifier sees; flipping one bit is a
real intervention on the model, which :func:`bottleneck_intervention` measures.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ontochron.errors import InputError

N_INPUT = 64
N_HIDDEN = 128
N_BITS = 32
N_CLASSES = 10
INTERVENTION_MODES = ("flip", "zero")
INTERVENTION_MEASURES = ("loss", "kl")


class DemoNet(nn.Module):
    """MLP encoder 64 -> 128 -> 32 bits (straight-through), classifier head and decoder.

    The decoder reconstructs the image from the bits so that bits also carry shape
    information shared across classes, which makes features connect and split visibly.
    """

    def __init__(self, n_input: int = N_INPUT, n_hidden: int = N_HIDDEN, n_bits: int = N_BITS,
                 n_classes: int = N_CLASSES, bit_bias: float = -1.0) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_input, n_hidden), nn.ReLU(),
                                     nn.Linear(n_hidden, n_bits))
        # Bits start mostly off, so features are visibly born as training proceeds.
        nn.init.constant_(self.encoder[2].bias, bit_bias)
        self.head = nn.Linear(n_bits, n_classes)
        self.decoder = nn.Sequential(nn.Linear(n_bits, n_hidden), nn.ReLU(),
                                     nn.Linear(n_hidden, n_input))

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        """Bit probabilities sigmoid(logits), shape (n, n_bits); the code is probs > 0.5."""
        return torch.sigmoid(self.encoder(x))

    @staticmethod
    def binarize(p: torch.Tensor) -> torch.Tensor:
        """Hard 0/1 bits in the forward pass, sigmoid gradient in the backward pass."""
        hard = (p > 0.5).to(p.dtype)
        return p + (hard - p).detach()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (class logits, reconstruction, bit probabilities)."""
        p = self.probs(x)
        bits = self.binarize(p)
        return self.head(bits), self.decoder(bits), p


@dataclass(frozen=True)
class DigitsData:
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1], split into train and held-out."""

    x_train: np.ndarray  # float32 (n_train, 64)
    y_train: np.ndarray  # int64 (n_train,)
    x_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray  # row of each held-out image in load_digits()


def load_digits_split(seed: int = 0, test_fraction: float = 0.25) -> DigitsData:
    """Load the 1,797 bundled digits (no download) and make a stratified, seeded split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction}")
    ds = load_digits()
    x = (ds.data / 16.0).astype(np.float32)
    y = ds.target.astype(np.int64)
    idx = np.arange(y.size)
    tr, te = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=y)
    te = np.sort(te)
    return DigitsData(x[tr], y[tr], x[te], y[te], te)


def seed_everything(seed: int) -> None:
    """Seed torch and numpy (the global generators the user's code may also rely on)."""
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block: these matrices are tiny, and extra threads
    only contend for shared cores (measured on a busy 2-core machine: training 6 s on one
    thread vs 33 s on two; the demo's causal verification 2.8 s vs 16.6 s)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class TrainRecord:
    """Metrics of one saved checkpoint."""

    step: int
    epoch: int
    path: Path
    train_loss: float
    test_accuracy: float


def accuracy(model: DemoNet, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of inputs whose argmax class equals the label."""
    with torch.no_grad():
        logits, _, _ = model(torch.as_tensor(x))
    return float((logits.argmax(1).numpy() == y).mean())


def train_demo_model(data: DigitsData, ckpt_dir: str | os.PathLike[str], *, epochs: int = 16,
                     seed: int = 0, batch_size: int = 64, lr: float = 2e-3,
                     recon_weight: float = 1.0, sparsity_weight: float = 0.5,
                     on_epoch: Callable[[TrainRecord], None] | None = None
                     ) -> list[TrainRecord]:
    """Train a :class:`DemoNet` and save ``model_step{N}.pt`` (state_dict) before training and
    after every epoch (N = optimizer steps so far); return one record per checkpoint."""
    if epochs < 1:
        raise InputError(f"epochs must be >= 1, got {epochs}")
    ckpt = Path(ckpt_dir)
    ckpt.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    model = DemoNet()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(data.x_train)
    y = torch.as_tensor(data.y_train)
    records: list[TrainRecord] = []

    def save(step: int, epoch: int, loss: float) -> None:
        path = ckpt / f"model_step{step}.pt"
        torch.save(model.state_dict(), path)
        model.eval()
        rec = TrainRecord(step, epoch, path, loss, accuracy(model, data.x_test, data.y_test))
        model.train()
        records.append(rec)
        if on_epoch is not None:
            on_epoch(rec)

    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with one_thread():
            save(0, 0, float("nan"))
            step = 0
            for epoch in range(1, epochs + 1):
                perm = torch.randperm(x.shape[0], generator=gen)
                total, seen = 0.0, 0
                for start in range(0, x.shape[0], batch_size):
                    b = perm[start:start + batch_size]
                    logits, recon, p = model(x[b])
                    loss = (F.cross_entropy(logits, y[b])
                            + recon_weight * F.mse_loss(recon, x[b])
                            + sparsity_weight * p.mean())
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    step += 1
                    total += float(loss.detach()) * b.numel()
                    seen += b.numel()
                save(step, epoch, total / seen)
    finally:
        torch.use_deterministic_algorithms(previous)
    return records


def load_demo_model(path: str | os.PathLike[str]) -> DemoNet:
    """Load a ``model_step{N}.pt`` state_dict written by :func:`train_demo_model`."""
    model = DemoNet()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (OSError, RuntimeError, KeyError, EOFError, ValueError,
            pickle.UnpicklingError) as exc:
        raise InputError(f"not a demo model checkpoint: {exc}", path) from exc
    model.eval()
    return model


def bottleneck_probs(model: DemoNet, inputs: Any) -> np.ndarray:
    """Bit probabilities of the bottleneck for ``inputs`` (n, 64), as float32 numpy."""
    with torch.no_grad(), one_thread():
        return model.probs(torch.as_tensor(np.asarray(inputs, dtype=np.float32))).numpy()


def bottleneck_intervention(model: DemoNet | str | os.PathLike[str], inputs: Any,
                            labels: Any | None, feature: int, mode: str = "flip",
                            measure: str = "loss") -> np.ndarray:
    """Per-input effect of flipping (or zeroing) one bottleneck bit on the model's output.

    ``model`` is a :class:`DemoNet` or a checkpoint path. ``measure="loss"`` returns the change
    in cross-entropy loss against ``labels`` (intervened minus clean; positive = the bit
    helped); ``"kl"`` returns KL(clean output || intervened output), which needs no labels.
    """
    if mode not in INTERVENTION_MODES:
        raise InputError(f"mode must be one of {INTERVENTION_MODES}, got {mode!r}")
    if measure not in INTERVENTION_MEASURES:
        raise InputError(f"measure must be one of {INTERVENTION_MEASURES}, got {measure!r}")
    net = model if isinstance(model, DemoNet) else load_demo_model(model)
    n_bits = net.head.in_features
    if not 0 <= int(feature) < n_bits:
        raise InputError(f"feature must be in [0, {n_bits}), got {feature}")
    x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
    if x.ndim == 1:
        x = x[None]
    with torch.no_grad(), one_thread():
        bits = (net.probs(x) > 0.5).to(x.dtype)
        patched = bits.clone()
        patched[:, feature] = 1.0 - patched[:, feature] if mode == "flip" else 0.0
        clean, inter = net.head(bits), net.head(patched)
        if measure == "kl":
            lp, lq = F.log_softmax(clean, 1), F.log_softmax(inter, 1)
            return (lp.exp() * (lp - lq)).sum(1).numpy().astype(np.float64)
        if labels is None:
            raise InputError('measure="loss" needs labels; use measure="kl" without labels')
        y = torch.as_tensor(np.asarray(labels, dtype=np.int64)).reshape(-1)
        if y.shape[0] != x.shape[0]:
            raise InputError(f"{x.shape[0]} inputs but {y.shape[0]} labels")
        lc = F.cross_entropy(clean, y, reduction="none")
        li = F.cross_entropy(inter, y, reduction="none")
        return (li - lc).numpy().astype(np.float64)
