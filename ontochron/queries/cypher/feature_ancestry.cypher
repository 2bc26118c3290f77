// @name feature_ancestry
// @summary The ancestry of feature (lineage) $feature of run $run_id: every lineage it
//   descends from through splits and merges (SPLITS_INTO / MERGES_INTO, followed backwards up
//   to $max_depth links, at most 16), nearest first, with how each ancestor began and ended.
// @param run_id string required  The run (Run.run_id).
// @param feature int required  Feature (lineage) id (Feature.index).
// @param max_depth int default=16  Most links to follow back (the statement stops at 16).
// @column depth  Fewest links from the ancestor down to $feature.
// @column fate  How the ancestor ended: 'split' or 'merge'.
// @column end_step  The step at which the ancestor's split or merge happened.
MATCH (f:Feature {run_id: $run_id, index: $feature})
MATCH p = (anc)-[:SPLITS_INTO|MERGES_INTO*1..16]->(f)
WHERE length(p) <= $max_depth
WITH anc, min(length(p)) AS depth
RETURN anc.index AS ancestor, depth, anc.origin AS origin, anc.first_step AS first_step,
       anc.last_step AS last_step, anc.fate AS fate, anc.end_step AS end_step,
       anc.label AS label
ORDER BY depth, ancestor
