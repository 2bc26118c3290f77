// Replace all properties of existing CONNECTED interval relationships (found by their natural key).
// $run_id: the run; $rows: list of {a, b, valid_from, props} (a = start Concept.name, b = end Concept.name); props is the full
// new property map (run_id, valid_from, valid_to or null, fork, statistics).
UNWIND $rows AS row
MATCH (a:Concept) WHERE a.run_id = $run_id AND a.name = row.a
MATCH (a)-[r:CONNECTED]->(b) WHERE b.name = row.b AND r.valid_from = row.valid_from
SET r = row.props
