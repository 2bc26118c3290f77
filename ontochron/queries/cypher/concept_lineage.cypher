// @name concept_lineage
// @summary Which features concept $concept activated in run $run_id, when each activation
//   started and stopped, and which relations (DUAL, DEPENDS_ON, PARENT_OF) those features had
//   meanwhile (relation intervals overlapping the activation interval; null when none).
// @param run_id string required  The run (Run.run_id).
// @param concept string required  Concept name (Concept.name, verbatim).
// @column relation  dual | depends_on (feature is the child) | dependency_of (feature is the
//   parent) | parent_of | child_of; null when the feature had no relation meanwhile.
MATCH (c:Concept {run_id: $run_id, name: $concept})-[a:ACTIVATES]->(f)
OPTIONAL MATCH (f)-[x:DUAL|DEPENDS_ON|PARENT_OF]-(o)
  WHERE (a.valid_to IS NULL OR x.valid_from < a.valid_to)
    AND (x.valid_to IS NULL OR a.valid_from < x.valid_to)
RETURN f.index AS feature, a.valid_from AS active_from, a.valid_to AS active_to,
       CASE
         WHEN x IS NULL THEN null
         WHEN type(x) = 'DUAL' THEN 'dual'
         WHEN type(x) = 'DEPENDS_ON' AND startNode(x) = f THEN 'depends_on'
         WHEN type(x) = 'DEPENDS_ON' THEN 'dependency_of'
         WHEN startNode(x) = f THEN 'parent_of'
         ELSE 'child_of'
       END AS relation,
       o.index AS other_feature, x.valid_from AS relation_from, x.valid_to AS relation_to
ORDER BY active_from, feature, relation_from, relation, other_feature
