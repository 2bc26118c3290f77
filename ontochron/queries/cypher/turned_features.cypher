// @name turned_features
// @summary Lineages of run $run_id whose direction has turned away from where they started:
//   at some checkpoint the cosine to their first direction fell below that checkpoint's link
//   threshold (Feature.turned), so the one identity now names a direction it would no longer
//   be linked to. One row per such lineage, earliest turn first. A fixed dictionary has none.
// @param run_id string required  The run (Run.run_id).
// @param limit int default=1000  At most this many rows.
// @column feature  Lineage id (Feature.index).
// @column turned_step  First checkpoint at which its cosine to its first direction was below
//   the link threshold.
// @column first_step  First checkpoint of the lineage.
// @column last_step  Last checkpoint of the lineage.
// @column min_cos_first  Lowest cosine to its first direction over its life.
// @column cos_first_last  Cosine to its first direction at its last checkpoint.
MATCH (f:Feature)
WHERE f.run_id = $run_id AND f.turned = true
WITH f, [x IN f.drift_first WHERE x >= -1.0] AS cf
RETURN f.index AS feature, f.turned_step AS turned_step, f.first_step AS first_step,
       f.last_step AS last_step,
       reduce(m = 2.0, x IN cf | CASE WHEN x < m THEN x ELSE m END) AS min_cos_first,
       cf[size(cf) - 1] AS cos_first_last, f.label AS label
ORDER BY turned_step, feature
LIMIT $limit
