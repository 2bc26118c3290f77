// Plot data: the run's steps, feature count, summary, name, detection thresholds (Run.config,
// JSON text) and lineage summary (Run.lineage, JSON text; null for a fixed dictionary).
// $run_id: the run.
MATCH (r:Run {run_id: $run_id})
RETURN r.steps AS steps, r.n_features AS n_features, r.summary AS summary, r.name AS name,
       r.config AS config, r.lineage AS lineage, r.mode AS mode
