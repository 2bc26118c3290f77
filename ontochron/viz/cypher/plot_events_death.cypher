// Plot data: every death event of a run.
// $run_id: the run.
MATCH (e:Death {run_id: $run_id}) RETURN e.step AS step, e.concept AS concept, e.feature AS feature, '' AS detail
