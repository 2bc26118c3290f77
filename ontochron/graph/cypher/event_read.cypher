// Read every event node of a run for the ingest diff: uid, labels and all properties.
// $run_id: the run.
MATCH (e:Event)
WHERE e.run_id = $run_id
RETURN e.uid AS uid, properties(e) AS props
