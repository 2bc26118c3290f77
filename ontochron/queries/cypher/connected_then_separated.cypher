// @name connected_then_separated
// @summary Pairs of concepts in run $run_id that were connected (CONNECTED: significantly many
//   shared features) and later separated: one row per closed connection interval, with the
//   step they reconnected at afterwards (null if never).
// @param run_id string required  The run (Run.run_id).
// @param limit int default=1000  At most this many rows (earliest separations first).
MATCH (a)-[r:CONNECTED]->(b)
WHERE r.run_id = $run_id AND r.valid_to IS NOT NULL
OPTIONAL MATCH (a)-[later:CONNECTED]->(b)
  WHERE later.run_id = $run_id AND later.valid_from >= r.valid_to
WITH a, b, r, min(later.valid_from) AS reconnected_at
RETURN a.name AS concept_a, b.name AS concept_b, r.valid_from AS connected_at,
       r.valid_to AS separated_at, r.shared AS shared, reconnected_at
ORDER BY separated_at, concept_a, concept_b
LIMIT $limit
