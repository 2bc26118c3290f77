// Create PARENT_OF interval relationships (Feature)-[:PARENT_OF]->(Feature) that the ingest diff found
// missing, one per row: hierarchy edge from parent to child feature.
// $run_id: the run; $rows: list of {a, b, valid_from, props} (a = start Feature.index, b = end Feature.index); props holds every
// property of the relationship (run_id, valid_from, valid_to or null, fork, statistics).
// Statistics not listed here are written afterwards by rel_parent_of_update.
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_id AND a.index = row.a
MATCH (b:Feature) WHERE b.run_id = $run_id AND b.index = row.b
CREATE (a)-[:PARENT_OF {run_id: $run_id, valid_from: row.props.valid_from, valid_to: row.props.valid_to, fork: row.props.fork, confidence: row.props.confidence, parent_size: row.props.parent_size, child_size: row.props.child_size}]->(b)
