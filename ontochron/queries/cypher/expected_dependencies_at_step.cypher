// @name expected_dependencies_at_step
// @summary The expected dependencies of the hypothesis held against run $run_id (written by
//   `ontochron overlay --write`) with their status as of step $step: found (held), missing
//   or contradicted, and the statistic behind it.
// @param run_id string required  The run (Run.run_id).
// @param step int required  Training step to look at.
// @param forks list<int> derived=stab_keys(step)  Time-slice index keys of $step (filled in
//   by ontochron; in Neo4j Browser: :param forks => [-1] + [L IN range(0, 56) | ($step / toInteger(2^L)) * 64 + L]).
// @column status  found (the dependency held), missing or contradicted.
// @column q_value  The analysis' q-value of the detected dependency (found only).
// @column q_contra  BH q-value of the contradiction test over the hypothesis' relations.
MATCH (c)-[r:EXPECTS_DEPENDENCY]->(p)
WHERE r.run_id = $run_id AND r.fork IN $forks AND r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN c.name AS child, p.name AS parent, c.feature AS child_feature, p.feature AS parent_feature,
       r.status AS status, r.confidence AS confidence, r.q_value AS q_value, r.q_contra AS q_contra,
       r.valid_from AS valid_from, r.valid_to AS valid_to
ORDER BY status, child, parent
