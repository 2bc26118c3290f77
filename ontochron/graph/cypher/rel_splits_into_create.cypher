// Create SPLITS_INTO lineage relationships (Feature)-[:SPLITS_INTO]->(Feature) that the ingest diff found
// missing, one per row: lineage a ends at step (props.step) - 1 and splits into lineage b starting at that step (one relationship per child).
// $run_id: the run; $rows: list of {a, b, props} (a = source Feature.index, b = target
// Feature.index); props holds run_id, step and cosine (the decoder cosine of the link, or
// null).
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_id AND a.index = row.a
MATCH (b:Feature) WHERE b.run_id = $run_id AND b.index = row.b
CREATE (a)-[:SPLITS_INTO {run_id: $run_id, step: row.props.step, cosine: row.props.cosine}]->(b)
