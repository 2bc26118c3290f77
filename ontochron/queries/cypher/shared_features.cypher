// @name shared_features
// @summary Features run $run_id shares with run $other_run: every SAME_AS match between
//   their Feature nodes (written by `ontochron compare --run-a/--run-b`, in either
//   direction), optionally only of kind $kind, with the cosine and the checkpoints compared.
// @param run_id string required  One run (Run.run_id).
// @param other_run string required  The other run.
// @param kind string default=null  'same' (1:1), 'split' or 'merge'; null keeps all.
// @column feature  Feature.index in $run_id.
// @column other_feature  Feature.index in $other_run.
// @column step  The checkpoint of $run_id whose dictionary was compared.
// @column other_step  The checkpoint of $other_run whose dictionary was compared.
MATCH (a:Feature)
WHERE a.run_id = $run_id
MATCH (a)-[s:SAME_AS]-(b)
WHERE b.run_id = $other_run AND ($kind IS NULL OR s.kind = $kind)
RETURN a.index AS feature, b.index AS other_feature, s.kind AS kind, s.cosine AS cosine,
       CASE WHEN startNode(s) = a THEN s.step_a ELSE s.step_b END AS step,
       CASE WHEN startNode(s) = a THEN s.step_b ELSE s.step_a END AS other_step,
       a.label AS label, b.label AS other_label
ORDER BY feature, other_feature
