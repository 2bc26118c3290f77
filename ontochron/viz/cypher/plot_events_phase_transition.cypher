// Plot data: every phase_transition event of a run, with the metric (curve) that jumped, the
// jump, its direction and robust z (the detail an analysis directory's events.csv holds).
// $run_id: the run.
MATCH (e:PhaseTransition {run_id: $run_id})
RETURN e.step AS step, null AS concept, null AS feature,
       {metric: e.metric, delta: e.delta, direction: e.direction, z: e.z} AS detail
