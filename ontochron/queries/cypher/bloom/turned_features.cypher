// Bloom search phrase "turned features": the lineages whose direction has turned away from
// where they started (Feature.turned), with the lineages they come from and go into
// (named query turned_features gives the table).
// @phrase turned features
MATCH p = (f:Feature)
WHERE f.turned = true
RETURN p
UNION
MATCH p = (f:Feature)-[:SPLITS_INTO|MERGES_INTO]-()
WHERE f.turned = true
RETURN p
