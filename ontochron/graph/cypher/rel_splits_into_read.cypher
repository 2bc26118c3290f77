// Read every SPLITS_INTO lineage relationship of a run for the ingest diff: its natural key
// (a = source Feature.index, b = target Feature.index) and all its properties.
// $run_id: the run. Served by the (SPLITS_INTO.run_id, step) index.
MATCH (a)-[r:SPLITS_INTO]->(b)
WHERE r.run_id = $run_id
RETURN a.index AS a, b.index AS b, properties(r) AS props
