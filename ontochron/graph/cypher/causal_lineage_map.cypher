// Map the dictionary latents of one checkpoint to the lineages (Feature nodes) of a lineage run,
// for causal tests: Feature.index and its dictionary index at ordinal $ordinal of Run.steps
// (-1 where the lineage does not exist there). Features without dict_index (a fixed dictionary)
// are left out.
// $run_id: the run; $ordinal: position of the checkpoint in Run.steps.
MATCH (f:Feature)
WHERE f.run_id = $run_id AND f.dict_index IS NOT NULL
RETURN f.index AS feature, f.dict_index[$ordinal] AS dict_index
