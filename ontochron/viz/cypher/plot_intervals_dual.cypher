// Plot data: every dual validity interval of a run (a, b = endpoint indices).
// $run_id: the run.
MATCH (x)-[r:DUAL]->(y) WHERE r.run_id = $run_id RETURN x.index AS a, y.index AS b, r.valid_from AS valid_from, r.valid_to AS valid_to
