// Labelling: the (concept index, feature index) pairs whose ACTIVATES interval holds at step $t
// in run $run_id; $forks = ontochron.graph.schema.stab_keys($t) (time-slice index keys).
MATCH (c)-[r:ACTIVATES]->(f)
WHERE r.run_id = $run_id AND r.fork IN $forks
  AND r.valid_from <= $t AND (r.valid_to IS NULL OR r.valid_to > $t)
RETURN c.index AS concept, f.index AS feature
