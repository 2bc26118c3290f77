// Create Feature nodes found missing by the ingest diff; returns each one's element id
// (used to create relationships by id).
// $run_id: the run; $rows: list of {index, props} where props holds kind, valid_from,
// valid_to, fork, birth_step, death_step, stability, first_stable_step, layer,
// active_concepts_last, n_dependents, n_parents, n_duals, n_triads_as_output,
// activation_rate ([float] aligned with Run.steps) and any other
// per-feature statistic (those not listed here are written afterwards by feature_update).
UNWIND $rows AS row
CREATE (f:Feature {run_id: $run_id, index: row.index, kind: row.props.kind, valid_from: row.props.valid_from, valid_to: row.props.valid_to, fork: row.props.fork, birth_step: row.props.birth_step, death_step: row.props.death_step, stability: row.props.stability, first_stable_step: row.props.first_stable_step, layer: row.props.layer, active_concepts_last: row.props.active_concepts_last, n_dependents: row.props.n_dependents, n_parents: row.props.n_parents, n_duals: row.props.n_duals, n_triads_as_output: row.props.n_triads_as_output, activation_rate: row.props.activation_rate})
RETURN row.index AS key, elementId(f) AS id
