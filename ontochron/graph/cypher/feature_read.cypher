// Read every Feature of a run for the ingest diff: its index, all its properties and its element id.
// $run_id: the run.
MATCH (f:Feature)
WHERE f.run_id = $run_id
RETURN f.index AS index, properties(f) AS props, elementId(f) AS id
