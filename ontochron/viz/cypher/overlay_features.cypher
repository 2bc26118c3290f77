// Overlay data: the stability statistics of every feature of a run.
// $run_id: the run.
MATCH (f:Feature {run_id: $run_id}) RETURN f.index AS feature, f.first_stable_step AS first_stable_step, f.layer AS layer
