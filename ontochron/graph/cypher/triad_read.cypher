// Read every Triad of a run for the ingest diff: natural key and all its properties.
// $run_id: the run. Served by the Triad (run_id, fork) index.
MATCH (t:Triad)
WHERE t.run_id = $run_id
RETURN t.input_a AS input_a, t.input_b AS input_b, t.output AS output,
       t.valid_from AS valid_from, properties(t) AS props
