// Read every NEXT link of a run for the ingest diff.
// $run_id: the run.
MATCH (a)-[r:NEXT]->(b)
WHERE r.run_id = $run_id
RETURN a.step AS a, b.step AS b, properties(r) AS props
