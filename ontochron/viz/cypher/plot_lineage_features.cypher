// Plot data: the lineage properties of a lineage run's Feature nodes (docs/schema.md, "Feature
// lineage"): per-checkpoint dictionary index and drift lists (aligned with Run.steps), and how
// each lineage started and ended. Features of a fixed dictionary (no dict_index) are left out.
// $run_id: the run.
MATCH (f:Feature {run_id: $run_id})
WHERE f.dict_index IS NOT NULL
RETURN f.index AS feature, f.dict_index AS dict_index, f.drift_prev AS drift_prev,
       f.drift_first AS drift_first, f.origin AS origin, f.fate AS fate,
       f.first_step AS first_step, f.end_step AS end_step
