// Plot data: every connection_break event of a run, with the partner concept and the
// number of shared features (the detail an analysis directory's events.csv holds).
// $run_id: the run.
MATCH (e:ConnectionBreak {run_id: $run_id}) RETURN e.step AS step, e.concept AS concept, null AS feature,
       {b: e.partner, shared: e.shared} AS detail
