// Overlay data: the detection thresholds a run was ingested with (JSON text, or null).
// $run_id: the run.
MATCH (r:Run {run_id: $run_id}) RETURN r.config AS config, r.mode AS mode
