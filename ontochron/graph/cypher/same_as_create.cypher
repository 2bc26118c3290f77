// Create SAME_AS relationships (Feature of run $run_a)-[:SAME_AS]->(Feature of run $run_b).
// $run_a, $run_b: the two runs; $rows: list of {a, b, props} (a, b = Feature.index in each
// run); props holds kind (same | split | merge), cosine, run_a, run_b, step_a, step_b.
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_a AND a.index = row.a
MATCH (b:Feature) WHERE b.run_id = $run_b AND b.index = row.b
CREATE (a)-[:SAME_AS {kind: row.props.kind, cosine: row.props.cosine, run_a: row.props.run_a, run_b: row.props.run_b, step_a: row.props.step_a, step_b: row.props.step_b}]->(b)
