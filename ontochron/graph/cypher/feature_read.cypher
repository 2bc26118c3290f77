// Read every Feature of a run for the ingest diff: its index and all its properties.
// $run_id: the run.
MATCH (f:Feature)
WHERE f.run_id = $run_id
RETURN f.index AS index, properties(f) AS props
