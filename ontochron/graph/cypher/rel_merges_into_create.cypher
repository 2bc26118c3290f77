// Create MERGES_INTO lineage relationships (Feature)-[:MERGES_INTO]->(Feature) that the ingest diff found
// missing, one per row: lineage a ends and merges, with the other parents, into lineage b starting at props.step (one relationship per parent).
// $run_id: the run; $rows: list of {a, b, props} (a = source Feature.index, b = target
// Feature.index); props holds run_id, step and cosine (the decoder cosine of the link, or
// null).
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_id AND a.index = row.a
MATCH (b:Feature) WHERE b.run_id = $run_id AND b.index = row.b
CREATE (a)-[:MERGES_INTO {run_id: $run_id, step: row.props.step, cosine: row.props.cosine}]->(b)
