// @name events_between
// @summary Events of run $run_id at steps $from..$to (both included), optionally only the
//   kinds in $kinds, in step order; for each phase transition also what changed around it:
//   the metric before and after the jump and the births, deaths, connections formed and
//   broken at that checkpoint.
// @param run_id string required  The run (Run.run_id).
// @param from int required  First step (inclusive).
// @param to int required  Last step (inclusive).
// @param kinds list<string> default=null  Event kinds to keep (birth, death, connection_form,
//   connection_break, phase_transition); null keeps all.
MATCH (k:Checkpoint)
WHERE k.run_id = $run_id AND k.step >= $from AND k.step <= $to
MATCH (e)-[:AT]->(k)
WHERE $kinds IS NULL OR e.kind IN $kinds
OPTIONAL MATCH (prev)-[:NEXT]->(k)
WITH k, e, prev, e.kind = 'phase_transition' AS pt
RETURN e.step AS step, e.kind AS kind, e.concept AS concept, e.feature AS feature,
       e.partner AS partner, e.metric AS metric, e.delta AS delta, e.direction AS direction,
       CASE WHEN pt AND prev IS NOT NULL THEN prev[e.metric] END AS value_before,
       CASE WHEN pt THEN k[e.metric] END AS value_after,
       CASE WHEN pt THEN COUNT { (k)<-[:AT]-(:Birth) } END AS births,
       CASE WHEN pt THEN COUNT { (k)<-[:AT]-(:Death) } END AS deaths,
       CASE WHEN pt THEN COUNT { (k)<-[:AT]-(:ConnectionForm) } END AS connections_formed,
       CASE WHEN pt THEN COUNT { (k)<-[:AT]-(:ConnectionBreak) } END AS connections_broken
ORDER BY step, kind, concept, feature, partner, metric
