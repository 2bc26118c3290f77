// @name feature_stability
// @summary The $limit most stable and $limit least stable features of run $run_id
//   (Feature.stability; features never active, i.e. without birth_step, and features without
//   a stability value are left out).
// @param run_id string required  The run (Run.run_id).
// @param limit int default=10  How many features at each end.
// @column rank  'most_stable' or 'least_stable'.
MATCH (f:Feature)
WHERE f.run_id = $run_id AND f.stability IS NOT NULL AND f.birth_step IS NOT NULL
WITH f ORDER BY f.stability DESC, f.index LIMIT $limit
RETURN 'most_stable' AS rank, f.index AS feature, f.stability AS stability,
       f.birth_step AS birth_step, f.death_step AS death_step, f.layer AS layer,
       f.label AS label
UNION ALL
MATCH (f:Feature)
WHERE f.run_id = $run_id AND f.stability IS NOT NULL AND f.birth_step IS NOT NULL
WITH f ORDER BY f.stability ASC, f.index LIMIT $limit
RETURN 'least_stable' AS rank, f.index AS feature, f.stability AS stability,
       f.birth_step AS birth_step, f.death_step AS death_step, f.layer AS layer,
       f.label AS label
