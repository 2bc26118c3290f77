// Replace all properties of existing DUAL interval relationships (found by their natural key).
// $run_id: the run; $rows: list of {a, b, valid_from, props} (a = start Feature.index, b = end Feature.index); props is the full
// new property map (run_id, valid_from, valid_to or null, fork, statistics).
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_id AND a.index = row.a
MATCH (a)-[r:DUAL]->(b) WHERE b.index = row.b AND r.valid_from = row.valid_from
SET r = row.props
