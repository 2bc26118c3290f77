"""Ingest: turn checkpoints or existing snapshot files into binary codes per concept."""

from ontochron.ingest.snapshot import CodeStack, Snapshot

__all__ = ["CodeStack", "Snapshot"]
