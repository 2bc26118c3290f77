// Read one Run node's properties (empty result when the run is not stored).
// $run_id: the run.
MATCH (r:Run) WHERE r.run_id = $run_id
RETURN properties(r) AS props
