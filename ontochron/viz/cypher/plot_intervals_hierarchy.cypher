// Plot data: every hierarchy validity interval of a run (a, b = endpoint indices).
// $run_id: the run.
MATCH (p)-[r:PARENT_OF]->(c) WHERE r.run_id = $run_id RETURN p.index AS a, c.index AS b, r.valid_from AS valid_from, r.valid_to AS valid_to
