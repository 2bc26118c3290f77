// Bloom search phrase "drift of feature $feature": the feature (lineage) with its drift lists
// (dict_index, drift_prev, drift_first, aligned with Run.steps) and the lineages it comes from
// and goes into (named query feature_drift gives the table).
// @phrase drift of feature $feature
// @param feature int Feature.index  Feature (lineage) id.
MATCH p = (f:Feature {index: $feature})
RETURN p
UNION
MATCH p = (f:Feature {index: $feature})-[:SPLITS_INTO|MERGES_INTO]-()
RETURN p
