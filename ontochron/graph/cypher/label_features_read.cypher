// Labelling: every Feature of a run with its mirrored current label (null when unlabelled).
// $run_id: the run.
MATCH (f:Feature) WHERE f.run_id = $run_id
RETURN f.index AS index, f.label AS label
