// Read every PARENT_OF interval relationship of a run for the ingest diff: its natural key
// (a = start Feature.index, b = end Feature.index, valid_from) and all its properties.
// $run_id: the run. Served by the (PARENT_OF.run_id, fork) index.
MATCH (a)-[r:PARENT_OF]->(b)
WHERE r.run_id = $run_id
RETURN a.index AS a, b.index AS b, r.valid_from AS valid_from, properties(r) AS props
