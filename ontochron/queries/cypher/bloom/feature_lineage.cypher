// Bloom search phrase "lineage of feature $feature": the feature with its duals, dependencies,
// hierarchy edges, AND triads and labels over time (named query feature_lineage). One UNION
// branch per kind of neighbour, so the rows do not multiply.
// @phrase lineage of feature $feature
// @param feature int Feature.index  Feature index.
MATCH p = (f:Feature {index: $feature})
RETURN p
UNION
MATCH p = (f:Feature {index: $feature})-[:DUAL|DEPENDS_ON|PARENT_OF]-()
RETURN p
UNION
MATCH p = (f:Feature {index: $feature})<-[:AND_INPUT|AND_OUTPUT]-()
RETURN p
UNION
MATCH p = (f:Feature {index: $feature})<-[:DESCRIBES]-()
RETURN p
