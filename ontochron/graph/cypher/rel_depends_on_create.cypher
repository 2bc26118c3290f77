// Create DEPENDS_ON interval relationships (Feature)-[:DEPENDS_ON]->(Feature) that the ingest diff found
// missing, one per row: a child feature fires (almost) only with its parent.
// $run_id: the run; $rows: list of {a, b, valid_from, props} (a = start Feature.index, b = end Feature.index); props holds every
// property of the relationship (run_id, valid_from, valid_to or null, fork, statistics).
// Statistics not listed here are written afterwards by rel_depends_on_update.
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_id AND a.index = row.a
MATCH (b:Feature) WHERE b.run_id = $run_id AND b.index = row.b
CREATE (a)-[:DEPENDS_ON {run_id: $run_id, valid_from: row.props.valid_from, valid_to: row.props.valid_to, fork: row.props.fork, confidence: row.props.confidence, p_value: row.props.p_value, q_value: row.props.q_value, support: row.props.support}]->(b)
