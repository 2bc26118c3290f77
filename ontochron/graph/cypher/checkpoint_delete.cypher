// Delete Checkpoint nodes (and their relationships) that are no longer in the source.
// $run_id: the run; $rows: list of {step}.
UNWIND $rows AS row
MATCH (k:Checkpoint) WHERE k.run_id = $run_id AND k.step = row.step
DETACH DELETE k
