// @name graph_at_step
// @summary The graph of run $run_id as of step $step: every feature alive and every interval
//   relation (ACTIVATES, CONNECTED, DUAL, DEPENDS_ON, PARENT_OF) whose validity interval
//   [valid_from, valid_to) contains the step.
// @param run_id string required  The run (Run.run_id).
// @param step int required  Training step to look at.
// @param forks list<int> derived=stab_keys(step)  Time-slice index keys of $step (filled in
//   by ontochron; in Neo4j Browser: :param forks => [-1] + [L IN range(0, 56) | ($step / toInteger(2^L)) * 64 + L]).
// @param types list<string> default=null  Only rows of these types ('Feature', 'ACTIVATES',
//   'CONNECTED', 'DUAL', 'DEPENDS_ON', 'PARENT_OF'); null returns all of them.
// @column type  'Feature' for an alive feature, else the relationship type.
// @column source  Concept name or feature index the row starts from.
// @column target  Concept name or feature index it points to (null for 'Feature' rows).
// @split type IN $types
// Implementation note: ontochron runs each branch as its own statement, in one read
// transaction with the rows of each packed into one list, and only the branches $types names
// (the @split line above). Pasted as is, the guards do the same: the Feature branch's WITH
// costs nothing when $types leaves it out; the relationship branches filter on $types after
// their index lookup.
WITH $types AS types
WHERE types IS NULL OR 'Feature' IN types
MATCH (f:Feature)
WHERE f.run_id = $run_id AND f.fork IN $forks
  AND f.valid_from <= $step AND (f.valid_to IS NULL OR f.valid_to > $step)
RETURN 'Feature' AS type, f.index AS source, null AS target,
       f.valid_from AS valid_from, f.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:ACTIVATES]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks AND ($types IS NULL OR 'ACTIVATES' IN $types)
  AND r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN 'ACTIVATES' AS type, a.name AS source, b.index AS target,
       r.valid_from AS valid_from, r.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:CONNECTED]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks AND ($types IS NULL OR 'CONNECTED' IN $types)
  AND r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN 'CONNECTED' AS type, a.name AS source, b.name AS target,
       r.valid_from AS valid_from, r.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:DUAL]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks AND ($types IS NULL OR 'DUAL' IN $types)
  AND r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN 'DUAL' AS type, a.index AS source, b.index AS target,
       r.valid_from AS valid_from, r.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:DEPENDS_ON]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks AND ($types IS NULL OR 'DEPENDS_ON' IN $types)
  AND r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN 'DEPENDS_ON' AS type, a.index AS source, b.index AS target,
       r.valid_from AS valid_from, r.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:PARENT_OF]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks AND ($types IS NULL OR 'PARENT_OF' IN $types)
  AND r.valid_from <= $step AND (r.valid_to IS NULL OR r.valid_to > $step)
RETURN 'PARENT_OF' AS type, a.index AS source, b.index AS target,
       r.valid_from AS valid_from, r.valid_to AS valid_to
