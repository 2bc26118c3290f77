// Overlay: one EXPECTS_DEPENDENCY relationship per status interval of an expected dependency
// (status found / missing / contradicted over [valid_from, valid_to), fork = time-slice key).
// $run_id; $rows: list of {a, b, status, valid_from, valid_to, fork, phi, confidence, n_ab, q_contra, q_value}.
UNWIND $rows AS row
MATCH (a:Primitive) WHERE a.run_id = $run_id AND a.name = row.a
MATCH (b:Primitive) WHERE b.run_id = $run_id AND b.name = row.b
CREATE (a)-[:EXPECTS_DEPENDENCY {run_id: $run_id, status: row.status, valid_from: row.valid_from, valid_to: row.valid_to, fork: row.fork, phi: row.phi, confidence: row.confidence, n_ab: row.n_ab, q_contra: row.q_contra, q_value: row.q_value}]->(b)
