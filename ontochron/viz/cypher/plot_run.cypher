// Plot data: the run's steps, feature count, summary and name.
// $run_id: the run.
MATCH (r:Run {run_id: $run_id}) RETURN r.steps AS steps, r.n_features AS n_features, r.summary AS summary, r.name AS name
