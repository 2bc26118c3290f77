// Read every ACTIVATES interval relationship of a run for the ingest diff: its natural key
// (a = start Concept.name, b = end Feature.index, valid_from) and all its properties.
// $run_id: the run. Served by the (ACTIVATES.run_id, fork) index.
MATCH (a)-[r:ACTIVATES]->(b)
WHERE r.run_id = $run_id
RETURN a.name AS a, b.index AS b, r.valid_from AS valid_from, properties(r) AS props
