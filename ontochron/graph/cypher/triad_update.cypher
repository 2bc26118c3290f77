// Update properties of existing Triad nodes found by natural key (null removes a property).
// $run_id: the run; $rows: list of {input_a, input_b, output, valid_from, props}.
UNWIND $rows AS row
MATCH (t:Triad) WHERE t.run_id = $run_id AND t.input_a = row.input_a AND t.input_b = row.input_b AND t.output = row.output AND t.valid_from = row.valid_from
SET t += row.props
