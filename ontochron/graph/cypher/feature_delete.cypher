// Delete Feature nodes (and their relationships) that are no longer in the source.
// $run_id: the run; $rows: list of {index}.
UNWIND $rows AS row
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = row.index
DETACH DELETE f
