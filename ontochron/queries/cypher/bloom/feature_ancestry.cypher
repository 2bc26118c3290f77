// Bloom search phrase "ancestry of feature $feature": the lineages feature $feature descends
// from through splits and merges, with the links (named query feature_ancestry).
// @phrase ancestry of feature $feature
// @param feature int Feature.index  Feature (lineage) id.
MATCH p = (a)-[:SPLITS_INTO|MERGES_INTO*1..16]->(f:Feature {index: $feature})
RETURN p
