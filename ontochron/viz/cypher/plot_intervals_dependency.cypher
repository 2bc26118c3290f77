// Plot data: every dependency validity interval of a run (a, b = endpoint indices).
// $run_id: the run.
MATCH (c)-[r:DEPENDS_ON]->(p) WHERE r.run_id = $run_id RETURN c.index AS a, p.index AS b, r.valid_from AS valid_from, r.valid_to AS valid_to
