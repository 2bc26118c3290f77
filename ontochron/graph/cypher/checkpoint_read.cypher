// Read every Checkpoint of a run for the ingest diff: its step and all its properties.
// $run_id: the run.
MATCH (k:Checkpoint)
WHERE k.run_id = $run_id
RETURN k.step AS step, properties(k) AS props
