// Read every Concept of a run for the ingest diff: its name, all its properties and its element id.
// $run_id: the run.
MATCH (c:Concept)
WHERE c.run_id = $run_id
RETURN c.name AS name, properties(c) AS props, elementId(c) AS id
