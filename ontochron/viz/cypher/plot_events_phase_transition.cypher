// Plot data: every phase_transition event of a run.
// $run_id: the run.
MATCH (e:PhaseTransition {run_id: $run_id}) RETURN e.step AS step, null AS concept, null AS feature, e.metric AS detail
