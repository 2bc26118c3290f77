// Plot data: every checkpoint of a run with its curve values.
// $run_id: the run.
MATCH (k:Checkpoint {run_id: $run_id}) RETURN properties(k) AS p
