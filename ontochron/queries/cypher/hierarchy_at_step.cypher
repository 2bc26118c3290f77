// @name hierarchy_at_step
// @summary The feature hierarchy of run $run_id as of step $step: every PARENT_OF edge whose
//   interval contains the step, with the layer of parent and child.
// @param run_id string required  The run (Run.run_id).
// @param step int required  Training step to look at.
// @param forks list<int> derived=stab_keys(step)  Time-slice index keys of $step (filled in by ontochron;
//   in Neo4j Browser: :param forks => [-1] + [L IN range(0, 56) | ($step / toInteger(2^L)) * 64 + L]).
MATCH (p)-[r:PARENT_OF]->(c)
WHERE r.run_id = $run_id AND r.fork IN $forks AND r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN p.index AS parent, c.index AS child, p.layer AS parent_layer, c.layer AS child_layer,
       r.valid_from AS valid_from, r.valid_to AS valid_to
ORDER BY parent_layer, parent, child
