// Bloom search phrase "features formed after step $step": features (lineages) that first
// exist after step $step, with the splits and merges they came from (named query
// feature_formation classes them abrupt or gradual).
// @phrase features formed after step $step
// @param step int Checkpoint.step  Step.
MATCH p = (f:Feature)
WHERE coalesce(f.first_step, f.birth_step) > $step
RETURN p
UNION
MATCH p = ()-[:SPLITS_INTO|MERGES_INTO]->(f:Feature)
WHERE f.first_step > $step
RETURN p
