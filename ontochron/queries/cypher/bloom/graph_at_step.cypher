// Bloom search phrase "graph at step $step": concepts, features and the relations between them
// whose validity interval contains the step (named query graph_at_step), in every run.
// @phrase graph at step $step
// @param step int  Training step.
MATCH (a)-[r:ACTIVATES|CONNECTED|DUAL|DEPENDS_ON|PARENT_OF]->(b)
WHERE r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN a, r, b
