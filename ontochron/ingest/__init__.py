"""Ingest: turn checkpoints or existing snapshot files into binary codes per concept."""

from ontochron.ingest.checkpoints import discover_checkpoints, iter_extracted, parse_step
from ontochron.ingest.extractor import Extractor
from ontochron.ingest.extractors import BinaryExtractor, FSQExtractor, SAEExtractor, VQExtractor
from ontochron.ingest.readers import (
    load_snapshots,
    load_stack,
    save_npz,
    save_reptimeline_json,
    save_safetensors,
)
from ontochron.ingest.saelens import SAEWeights, load_saelens
from ontochron.ingest.snapshot import CodeStack, Snapshot

__all__ = [
    "BinaryExtractor",
    "CodeStack",
    "Extractor",
    "FSQExtractor",
    "SAEExtractor",
    "SAEWeights",
    "Snapshot",
    "VQExtractor",
    "discover_checkpoints",
    "iter_extracted",
    "load_saelens",
    "load_snapshots",
    "load_stack",
    "parse_step",
    "save_npz",
    "save_reptimeline_json",
    "save_safetensors",
]
