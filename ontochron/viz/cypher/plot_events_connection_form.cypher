// Plot data: every connection_form event of a run.
// $run_id: the run.
MATCH (e:ConnectionForm {run_id: $run_id}) RETURN e.step AS step, e.concept AS concept, null AS feature, e.partner AS detail
