// Update properties of existing Checkpoint nodes (null removes a property).
// $run_id: the run; $rows: list of {step, props}.
UNWIND $rows AS row
MATCH (k:Checkpoint) WHERE k.run_id = $run_id AND k.step = row.step
SET k += row.props
