"""Which reader a folder needs, and where in a checkpoint folder its SAE lies: the folder
itself or one level down, as the libraries write them (SAELens ``final_<n>/``, sparsify
``<hookpoint>/``, dictionary_learning ``trainer_<i>/``); ``sae=`` picks one of several."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from ontochron.errors import InputError
from ontochron.sae.model import SAE

LAYOUTS = ("saelens", "sparsify", "dictionary_learning", "gemmascope")
_FILES = (("sae_weights.safetensors", "saelens"), ("sae.safetensors", "sparsify"),
          ("ae.pt", "dictionary_learning"), ("params.npz", "gemmascope"))
_SAELENS_CKPT = re.compile(r"^(final_)?(\d+)$")


def detect_layout(folder: str | os.PathLike[str]) -> str | None:
    """The SAE layout of a folder from the files it holds, or None."""
    root = Path(folder)
    if not root.is_dir():
        return None
    for name, layout in _FILES:
        if (root / name).is_file():
            return layout
    if (root / "cfg.json").is_file():  # SAELens with its weights file under another name
        others = [p for p in root.glob("*.safetensors") if p.name != "sparsity.safetensors"]
        if len(others) == 1:
            return "saelens"
    return None


def _reader(layout: str) -> Callable[[Path], SAE]:
    if layout == "saelens":
        from ontochron.sae.saelens import read_saelens
        return read_saelens
    if layout == "sparsify":
        from ontochron.sae.sparsify import read_sparsify
        return read_sparsify
    if layout == "dictionary_learning":
        from ontochron.sae.dictionary_learning import read_dictionary_learning
        return read_dictionary_learning
    from ontochron.sae.gemmascope import read_gemmascope
    return read_gemmascope


def sae_candidates(folder: str | os.PathLike[str]) -> list[Path]:
    """The SAE folders one level below ``folder`` (sorted by name)."""
    root = Path(folder)
    try:
        subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    return [p for p in subs if detect_layout(p) is not None]


def _last_saelens(cands: list[Path]) -> Path | None:
    """SAELens checkpoint sub-folders (``<n>/``, ``final_<n>/``): the final one, else the
    last by n; None when the candidates are not all of that kind."""
    keyed = []
    for p in cands:
        m = _SAELENS_CKPT.match(p.name)
        if m is None or detect_layout(p) != "saelens":
            return None
        keyed.append((m.group(1) is not None, int(m.group(2)), p))
    return max(keyed)[2] if keyed else None


def find_sae(folder: str | os.PathLike[str], sae: str | None = None) -> Path:
    """The SAE folder of a checkpoint folder: ``folder/sae`` (a relative path or glob) when
    given, else the folder itself, else its one SAE sub-folder (SAELens: the last
    ``final_<n>``). Several candidates and no ``sae``: InputError listing them."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError("SAE folder does not exist or is not a directory", root)
    if sae:
        if Path(sae).is_absolute() or ".." in Path(sae).parts:
            raise InputError(f"--sae {sae!r} must be a relative path inside the checkpoint "
                             "folder", root)
        hits = sorted(p for p in root.glob(sae) if detect_layout(p) is not None)
        if len(hits) == 1:
            return hits[0]
        found = _listing(root)
        if not hits:
            raise InputError(f"--sae {sae!r} matches no SAE folder here ({found})", root)
        raise InputError(f"--sae {sae!r} matches {len(hits)} SAE folders: "
                         f"{', '.join(p.relative_to(root).as_posix() for p in hits)}", root)
    if detect_layout(root) is not None:
        return root
    cands = sae_candidates(root)
    if len(cands) == 1:
        return cands[0]
    last = _last_saelens(cands)
    if last is not None:
        return last
    if not cands:
        raise InputError("no SAE found: expected sae_weights.safetensors (SAELens), "
                         "sae.safetensors (sparsify), ae.pt (dictionary_learning) or "
                         "params.npz (Gemma Scope) here or one folder down", root)
    raise InputError(f"{len(cands)} SAEs in this checkpoint folder "
                     f"({', '.join(p.name for p in cands)}): pick one with --sae PATH", root)


def _listing(root: Path) -> str:
    cands = [root] if detect_layout(root) else sae_candidates(root)
    if not cands:
        return "no SAE folder at all"
    return "SAE folders: " + ", ".join(p.relative_to(root).as_posix() or "." for p in cands)


def holds_sae(folder: str | os.PathLike[str], sae: str | None = None) -> bool:
    """True when :func:`find_sae` would find some SAE in ``folder`` (ambiguity included)."""
    root = Path(folder)
    if not root.is_dir():
        return False
    if sae:
        return any(detect_layout(p) is not None for p in root.glob(sae))
    return detect_layout(root) is not None or bool(sae_candidates(root))


def load_sae(folder: str | os.PathLike[str], layout: str = "auto", sae: str | None = None
             ) -> SAE:
    """Read the SAE of ``folder`` (found as :func:`find_sae` says; layout auto-detected
    unless given); anything not understood is an InputError naming the file and the key."""
    if layout != "auto" and layout not in LAYOUTS:
        raise InputError(f"unknown SAE layout {layout!r} (one of {', '.join(LAYOUTS)})")
    plain = Path(folder)
    if layout != "auto" and not sae and plain.is_dir() and detect_layout(plain) is None \
            and not sae_candidates(plain):
        root = plain  # the named layout's reader says which of its files is missing
    else:
        root = find_sae(folder, sae)
    found = detect_layout(root) if layout == "auto" else layout
    assert found is not None
    return _reader(found)(root)
