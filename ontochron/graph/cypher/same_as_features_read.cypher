// Map one run's dictionary indices at one checkpoint to its Feature nodes, for SAME_AS: the
// Feature.index of every feature with its dictionary index at ordinal $ordinal of Run.steps
// (Feature.dict_index[$ordinal]; a fixed-dictionary run has no dict_index: index itself).
// $run_id: the run; $ordinal: position of the checkpoint in Run.steps.
MATCH (f:Feature)
WHERE f.run_id = $run_id
RETURN f.index AS feature, coalesce(f.dict_index[$ordinal], f.index) AS dict_index
