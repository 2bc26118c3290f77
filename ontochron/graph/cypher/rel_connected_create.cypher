// Create CONNECTED interval relationships (Concept)-[:CONNECTED]->(Concept) that the ingest diff found
// missing, one per row: two concepts share significantly many features.
// $run_id: the run; $rows: list of {a, b, valid_from, props} (a = start Concept.name, b = end Concept.name); props holds every
// property of the relationship (run_id, valid_from, valid_to or null, fork, statistics).
// Statistics not listed here are written afterwards by rel_connected_update.
UNWIND $rows AS row
MATCH (a:Concept) WHERE a.run_id = $run_id AND a.name = row.a
MATCH (b:Concept) WHERE b.run_id = $run_id AND b.name = row.b
CREATE (a)-[:CONNECTED {run_id: $run_id, valid_from: row.props.valid_from, valid_to: row.props.valid_to, fork: row.props.fork, shared: row.props.shared, jaccard: row.props.jaccard, p_value: row.props.p_value, q_value: row.props.q_value}]->(b)
