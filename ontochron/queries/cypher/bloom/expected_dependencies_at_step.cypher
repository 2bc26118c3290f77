// Bloom search phrase "expected dependencies at step $step": the hypothesis' expected
// dependencies and their status at the step (named query expected_dependencies_at_step), in every run.
// @phrase expected dependencies at step $step
// @param step int  Training step.
MATCH (c)-[r:EXPECTS_DEPENDENCY]->(p)
WHERE r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN c, r, p
