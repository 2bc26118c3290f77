// @name feature_formation
// @summary Features of run $run_id that formed during training, each classed 'abrupt' or
//   'gradual' from its activation rate (Feature.activation_rate, aligned with Run.steps):
//   rise = peak rate minus the lowest rate before the peak; jump = the largest increase
//   between two consecutive checkpoints up to the peak; abruptness = jump / rise (1: all of
//   the rise in one checkpoint). Abrupt when abruptness >= $abrupt. Features whose rate rises
//   by less than $min_rise (e.g. already formed at the first checkpoint) are left out. For a
//   lineage, also how far its direction moved (cosine of its last direction to its first).
// @param run_id string required  The run (Run.run_id).
// @param abrupt float default=0.5  Abruptness from which formation counts as abrupt.
// @param min_rise float default=0.1  Smallest rise of the activation rate that counts.
// @param limit int default=1000  At most this many rows, most abrupt first.
// @column formation  'abrupt' or 'gradual'.
// @column abruptness  jump / rise, in (0, 1].
// @column formed_at  Step of the largest jump (the checkpoint after it).
// @column peak_step  Step at which the rate peaks (first such checkpoint).
// @column first_step  First step the lineage exists (fixed dictionary: birth_step).
// @column cos_first_last  Cosine of the lineage's direction at its last checkpoint to its
//   first one (null for a fixed dictionary).
MATCH (run:Run)
WHERE run.run_id = $run_id
MATCH (f:Feature)
WHERE f.run_id = $run_id AND f.activation_rate IS NOT NULL AND size(f.activation_rate) > 1
WITH run, f, f.activation_rate AS r
WITH run, f, r,
     reduce(p = 0, i IN range(0, size(r) - 1) | CASE WHEN r[i] > r[p] THEN i ELSE p END) AS pk
WITH run, f, r, pk,
     reduce(m = r[0], i IN range(0, pk) | CASE WHEN r[i] < m THEN r[i] ELSE m END) AS low,
     reduce(j = 1, i IN range(1, size(r) - 1) |
            CASE WHEN i <= pk AND r[i] - r[i - 1] > r[j] - r[j - 1] THEN i ELSE j END) AS ji
WITH run, f, pk, ji, r[pk] - low AS rise, r[ji] - r[ji - 1] AS jump
WHERE rise >= $min_rise AND rise > 0
WITH run, f, pk, ji, rise, jump, jump / rise AS abruptness,
     CASE WHEN f.dict_index IS NULL THEN null
          ELSE reduce(l = -1, i IN range(0, size(f.dict_index) - 1) |
                      CASE WHEN f.dict_index[i] >= 0 THEN i ELSE l END) END AS last_i
RETURN f.index AS feature,
       CASE WHEN abruptness >= $abrupt THEN 'abrupt' ELSE 'gradual' END AS formation,
       abruptness, rise, jump, run.steps[ji] AS formed_at, run.steps[pk] AS peak_step,
       coalesce(f.first_step, f.birth_step) AS first_step,
       CASE WHEN last_i IS NULL OR last_i < 0 THEN null ELSE f.drift_first[last_i] END
         AS cos_first_last,
       f.label AS label
ORDER BY abruptness DESC, feature
LIMIT $limit
