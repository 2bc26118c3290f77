// Start an ingest: create the Run node if needed and mark it as being written.
// $run_id: the run; $props: name, source, extractor, mode, n_features, n_concepts,
// ontochron_version, config, summary; $created_at: ISO time for a new run.
MERGE (r:Run {run_id: $run_id})
ON CREATE SET r.created_at = $created_at
SET r += $props, r.status = 'ingesting'
