// Overlay data: every dual validity interval of a run with its native statistics.
// $run_id: the run.
MATCH (x)-[r:DUAL]->(y) WHERE r.run_id = $run_id RETURN x.index AS a, y.index AS b, r.valid_from AS valid_from, r.valid_to AS valid_to, r.phi AS phi, r.p_value AS p_value, r.q_value AS q_value, r.support AS support
