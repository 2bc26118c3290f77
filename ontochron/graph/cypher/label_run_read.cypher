// Labelling: read a run's checkpoint steps and size (empty result when the run is not stored).
// $run_id: the run.
MATCH (r:Run) WHERE r.run_id = $run_id
RETURN r.steps AS steps, r.last_step AS last_step, r.n_features AS n_features,
       r.status AS status
