"""Feature lineage across per-checkpoint dictionaries (issue 10)."""
