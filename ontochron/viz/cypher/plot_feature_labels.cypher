// Plot data: feature labels (Feature.label, the latest Label of each feature) for captions.
// $run_id: the run.
MATCH (f:Feature {run_id: $run_id}) WHERE f.label IS NOT NULL RETURN f.index AS index, f.label AS label
