// Create ACTIVATES interval relationships (Concept)-[:ACTIVATES]->(Feature) that the ingest diff found
// missing, one per row: a concept's code has a feature on.
// $run_id: the run; $rows: list of {a, b, valid_from, props} (a = start Concept.name, b = end Feature.index); props holds every
// property of the relationship (run_id, valid_from, valid_to or null, fork, statistics).
// Statistics not listed here are written afterwards by rel_activates_update.
UNWIND $rows AS row
MATCH (a:Concept) WHERE a.run_id = $run_id AND a.name = row.a
MATCH (b:Feature) WHERE b.run_id = $run_id AND b.index = row.b
CREATE (a)-[:ACTIVATES {run_id: $run_id, valid_from: row.props.valid_from, valid_to: row.props.valid_to, fork: row.props.fork}]->(b)
