// Bloom search phrase "lineage of concept $concept": the features the concept activated over
// time and their DUAL / DEPENDS_ON / PARENT_OF relations (named query concept_lineage).
// @phrase lineage of concept $concept
// @param concept string Concept.name  Concept name.
MATCH (c:Concept {name: $concept})-[a:ACTIVATES]->(f)
OPTIONAL MATCH (f)-[x:DUAL|DEPENDS_ON|PARENT_OF]-(o)
  WHERE (a.valid_to IS NULL OR x.valid_from < a.valid_to)
    AND (x.valid_to IS NULL OR a.valid_from < x.valid_to)
RETURN c, a, f, x, o
