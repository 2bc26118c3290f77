// Read every Feature of a run for an incremental ingest: its index, element id and the
// properties ingest owns except the per-checkpoint lists (activation_rate and, for a lineage,
// dict_index, drift_prev, drift_first), whose values for
// earlier checkpoints cannot change when checkpoints are appended (absent ones come as null).
// $run_id: the run.
MATCH (f:Feature)
WHERE f.run_id = $run_id
RETURN f.index AS index, elementId(f) AS id,
       {kind: f.kind, valid_from: f.valid_from, valid_to: f.valid_to, fork: f.fork, birth_step: f.birth_step, death_step: f.death_step, stability: f.stability, first_stable_step: f.first_stable_step, layer: f.layer, active_concepts_last: f.active_concepts_last, n_dependents: f.n_dependents, n_parents: f.n_parents, n_duals: f.n_duals, n_triads_as_output: f.n_triads_as_output, first_step: f.first_step, last_step: f.last_step, end_step: f.end_step, origin: f.origin, fate: f.fate, dead: f.dead, turned: f.turned, turned_step: f.turned_step} AS props
