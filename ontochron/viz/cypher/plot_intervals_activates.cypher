// Plot data: every activates validity interval of a run (a, b = endpoint indices).
// $run_id: the run.
MATCH (c)-[r:ACTIVATES]->(f) WHERE r.run_id = $run_id RETURN c.index AS a, f.index AS b, r.valid_from AS valid_from, r.valid_to AS valid_to
