// @name feature_lineage
// @summary The life of feature $feature in run $run_id over time: its lifetime (birth to death),
//   every DUAL / DEPENDS_ON / PARENT_OF interval it took part in, its 3-way AND triads, and its
//   label history (Label nodes DESCRIBES it, plus the mirrored Feature.label; none is fine).
// @param run_id string required  The run (Run.run_id).
// @param feature int required  Feature index (Feature.index).
// @column kind  lifetime | dual | depends_on | dependency_of | parent_of | child_of |
//   and_input (feature is an input of the triad) | and_output | label | current_label
// @column features  The other features involved (for triads: the inputs, then the output).
// @column value  phi (dual), confidence (dependency), interaction (triad), score (label).
// @column detail  Label text and method for label rows; 'alive'/'dead' for the lifetime.
CALL () {
  MATCH (f:Feature {run_id: $run_id, index: $feature})
  RETURN 'lifetime' AS kind, f.birth_step AS valid_from, f.death_step AS valid_to,
         [] AS features, f.stability AS value,
         CASE WHEN f.birth_step IS NULL THEN 'never born'
              WHEN f.death_step IS NULL THEN 'alive' ELSE 'dead' END AS detail
  UNION ALL
  MATCH (f:Feature {run_id: $run_id, index: $feature})-[x:DUAL|DEPENDS_ON|PARENT_OF]-(o)
  RETURN CASE
           WHEN type(x) = 'DUAL' THEN 'dual'
           WHEN type(x) = 'DEPENDS_ON' AND startNode(x) = f THEN 'depends_on'
           WHEN type(x) = 'DEPENDS_ON' THEN 'dependency_of'
           WHEN startNode(x) = f THEN 'parent_of'
           ELSE 'child_of'
         END AS kind,
         x.valid_from AS valid_from, x.valid_to AS valid_to, [o.index] AS features,
         coalesce(x.phi, x.confidence) AS value, null AS detail
  UNION ALL
  MATCH (f:Feature {run_id: $run_id, index: $feature})<-[io:AND_INPUT|AND_OUTPUT]-(t)
  RETURN CASE WHEN type(io) = 'AND_INPUT' THEN 'and_input' ELSE 'and_output' END AS kind,
         t.valid_from AS valid_from, t.valid_to AS valid_to,
         [t.input_a, t.input_b, t.output] AS features, t.interaction AS value, null AS detail
  UNION ALL
  MATCH (f:Feature {run_id: $run_id, index: $feature})<-[d:DESCRIBES]-(l)
  RETURN 'label' AS kind, d.valid_from AS valid_from, d.valid_to AS valid_to, [] AS features,
         l.score AS value, l.text + ' (' + coalesce(l.method, '?') + ')' AS detail
  UNION ALL
  MATCH (f:Feature {run_id: $run_id, index: $feature})
  WHERE f.label IS NOT NULL
  RETURN 'current_label' AS kind, null AS valid_from, null AS valid_to, [] AS features,
         f.label_score AS value, f.label AS detail
}
RETURN kind, valid_from, valid_to, features, value, detail
ORDER BY valid_from, kind, features
