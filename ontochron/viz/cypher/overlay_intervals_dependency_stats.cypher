// Overlay data: every dependency validity interval of a run (a = child, b = parent) with its native statistics.
// $run_id: the run.
MATCH (x)-[r:DEPENDS_ON]->(y) WHERE r.run_id = $run_id RETURN x.index AS a, y.index AS b, r.valid_from AS valid_from, r.valid_to AS valid_to, r.confidence AS confidence, r.p_value AS p_value, r.q_value AS q_value, r.support AS support
