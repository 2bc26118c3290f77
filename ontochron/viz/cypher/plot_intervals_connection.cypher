// Plot data: every connection validity interval of a run (a, b = endpoint indices).
// $run_id: the run.
MATCH (c)-[r:CONNECTED]->(d) WHERE r.run_id = $run_id RETURN c.index AS a, d.index AS b, r.valid_from AS valid_from, r.valid_to AS valid_to
