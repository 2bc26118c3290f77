// Delete Triad nodes (with their AND_INPUT/AND_OUTPUT links) by natural key.
// $run_id: the run; $rows: list of {input_a, input_b, output, valid_from}.
UNWIND $rows AS row
MATCH (t:Triad) WHERE t.run_id = $run_id AND t.input_a = row.input_a AND t.input_b = row.input_b AND t.output = row.output AND t.valid_from = row.valid_from
DETACH DELETE t
