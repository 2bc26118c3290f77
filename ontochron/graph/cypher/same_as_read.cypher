// Read every SAME_AS relationship from a Feature of run $run_a to a Feature of run $run_b:
// the two Feature.index values and all properties (for the SAME_AS diff).
// $run_a, $run_b: the two runs.
MATCH (a:Feature)
WHERE a.run_id = $run_a
MATCH (a)-[s:SAME_AS]->(b)
WHERE b.run_id = $run_b
RETURN a.index AS a, b.index AS b, properties(s) AS props
