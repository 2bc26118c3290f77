// Read every CONNECTED interval relationship of a run for the ingest diff: its natural key
// (a = start Concept.name, b = end Concept.name, valid_from) and all its properties.
// $run_id: the run. Served by the (CONNECTED.run_id, fork) index.
MATCH (a)-[r:CONNECTED]->(b)
WHERE r.run_id = $run_id
RETURN a.name AS a, b.name AS b, r.valid_from AS valid_from, properties(r) AS props
