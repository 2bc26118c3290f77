// Plot data: every connection_break event of a run.
// $run_id: the run.
MATCH (e:ConnectionBreak {run_id: $run_id}) RETURN e.step AS step, e.concept AS concept, null AS feature, e.partner AS detail
