// Update properties of existing Feature nodes (null removes a property); properties ingest
// does not own (label, label_*) are left alone.
// $run_id: the run; $rows: list of {index, props}.
UNWIND $rows AS row
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = row.index
SET f += row.props
