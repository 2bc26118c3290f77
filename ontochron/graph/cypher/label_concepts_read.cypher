// Labelling: every Concept of a run with its index and first/last checkpoint step present.
// $run_id: the run.
MATCH (c:Concept) WHERE c.run_id = $run_id
RETURN c.index AS index, c.name AS name, c.first_seen AS first_seen, c.last_seen AS last_seen
