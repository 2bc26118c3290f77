// Delete every node of a run (and so every relationship attached to them).
// $run_id: the run. Scans all nodes; meant for removing a run, not for ingest.
MATCH (n)
WHERE n.run_id = $run_id
DETACH DELETE n
