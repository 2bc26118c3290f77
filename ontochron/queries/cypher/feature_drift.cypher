// @name feature_drift
// @summary Drift of feature (lineage) $feature of run $run_id over training: one row per
//   checkpoint at which it exists, with its dictionary index there, the cosine of its
//   direction to the previous checkpoint's and to its first one, and its activation rate.
//   A fixed-dictionary run has no drift: every checkpoint, cosines null.
// @param run_id string required  The run (Run.run_id).
// @param feature int required  Feature (lineage) id (Feature.index).
// @column dict_index  The feature's latent index in that checkpoint's dictionary.
// @column cos_prev  Cosine to its direction at the previous checkpoint (null where it starts).
// @column cos_first  Cosine to its first direction (1.0 at its first checkpoint).
MATCH (run:Run)
WHERE run.run_id = $run_id
MATCH (f:Feature {run_id: $run_id, index: $feature})
UNWIND range(0, size(run.steps) - 1) AS i
WITH run, f, i
WHERE f.dict_index IS NULL OR f.dict_index[i] >= 0
RETURN run.steps[i] AS step, coalesce(f.dict_index[i], f.index) AS dict_index,
       CASE WHEN f.drift_prev[i] >= -1.0 THEN f.drift_prev[i] END AS cos_prev,
       CASE WHEN f.drift_first[i] >= -1.0 THEN f.drift_first[i] END AS cos_first,
       f.activation_rate[i] AS activation_rate
ORDER BY step
