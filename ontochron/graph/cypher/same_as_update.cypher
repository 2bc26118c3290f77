// Replace all properties of existing SAME_AS relationships between runs $run_a and $run_b.
// $run_a, $run_b: the two runs; $rows: list of {a, b, props} (a, b = Feature.index in each
// run; props: kind, cosine, run_a, run_b, step_a, step_b).
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_a AND a.index = row.a
MATCH (a)-[s:SAME_AS]->(b) WHERE b.run_id = $run_b AND b.index = row.b
SET s = row.props
