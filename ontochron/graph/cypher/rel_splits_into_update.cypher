// Replace all properties of existing SPLITS_INTO lineage relationships (found by their natural key).
// $run_id: the run; $rows: list of {a, b, props} (a = source Feature.index, b = target
// Feature.index); props is the full new property map (run_id, step, cosine).
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_id AND a.index = row.a
MATCH (a)-[r:SPLITS_INTO]->(b) WHERE b.index = row.b AND r.run_id = $run_id
SET r = row.props
