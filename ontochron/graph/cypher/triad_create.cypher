// Create Triad nodes (3-way AND interactions, one per validity interval) with AND_INPUT to
// their two input features and AND_OUTPUT to the output feature.
// $run_id: the run; $rows: list of {input_a, input_b, output, valid_from, props} where props
// holds valid_to (or null), fork and statistics (others are written by triad_update).
UNWIND $rows AS row
MATCH (fa:Feature) WHERE fa.run_id = $run_id AND fa.index = row.input_a
MATCH (fb:Feature) WHERE fb.run_id = $run_id AND fb.index = row.input_b
MATCH (fc:Feature) WHERE fc.run_id = $run_id AND fc.index = row.output
CREATE (t:Triad {run_id: $run_id, input_a: row.input_a, input_b: row.input_b,
                 output: row.output, valid_from: row.valid_from,
                 valid_to: row.props.valid_to, fork: row.props.fork, p_r_ij: row.props.p_r_ij, p_r_i: row.props.p_r_i, p_r_j: row.props.p_r_j, interaction: row.props.interaction, p_value: row.props.p_value, q_value: row.props.q_value, support: row.props.support, p_r_given_ij: row.props.p_r_given_ij, p_r_given_i: row.props.p_r_given_i, p_r_given_j: row.props.p_r_given_j})
CREATE (t)-[:AND_INPUT {run_id: $run_id}]->(fa)
CREATE (t)-[:AND_INPUT {run_id: $run_id}]->(fb)
CREATE (t)-[:AND_OUTPUT {run_id: $run_id}]->(fc)
