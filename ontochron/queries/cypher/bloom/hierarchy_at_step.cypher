// Bloom search phrase "hierarchy at step $step": PARENT_OF edges holding at the step
// (named query hierarchy_at_step), in every run.
// @phrase hierarchy at step $step
// @param step int  Training step.
MATCH (p)-[r:PARENT_OF]->(c)
WHERE r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN p, r, c
