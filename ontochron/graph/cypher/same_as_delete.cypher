// Delete SAME_AS relationships between runs $run_a and $run_b by their Feature indices.
// $run_a, $run_b: the two runs; $rows: list of {a, b} (Feature.index in each run).
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_a AND a.index = row.a
MATCH (a)-[s:SAME_AS]->(b) WHERE b.run_id = $run_b AND b.index = row.b
DELETE s
