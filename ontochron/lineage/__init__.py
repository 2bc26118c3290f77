"""Feature lineage: match per-checkpoint dictionaries and give every (checkpoint, latent) a
lineage id, with births, deaths, splits, merges and drift (see docs/lineage.md)."""

from ontochron.lineage.result import Lineage, LineageEvent

__all__ = ["Lineage", "LineageEvent"]
