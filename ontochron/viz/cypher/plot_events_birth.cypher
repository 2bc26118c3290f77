// Plot data: every birth event of a run.
// $run_id: the run.
MATCH (e:Birth {run_id: $run_id}) RETURN e.step AS step, e.concept AS concept, e.feature AS feature, '' AS detail
