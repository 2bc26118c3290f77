// Delete the Label versions of a run that describe no Feature any more (e.g. left by a
// Feature deleted by hand or by an ontochron version that did not remove its labels).
// $run_id: the run. Scans the run's Label nodes; ingest runs it when the Feature table
// changed. Returns the number deleted.
MATCH (l:Label)
WHERE l.run_id = $run_id AND NOT EXISTS { MATCH (l)-[:DESCRIBES]->() }
DETACH DELETE l
RETURN count(l) AS labels
