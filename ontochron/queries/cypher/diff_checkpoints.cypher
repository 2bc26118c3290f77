// @name diff_checkpoints
// @summary What changed in run $run_id between the checkpoints at steps $from and $to: each
//   feature and each relation (ACTIVATES, CONNECTED, DUAL, DEPENDS_ON, PARENT_OF) that holds
//   at exactly one of the two steps: 'opened' (holds at $to only) or 'closed' ($from only).
// @param run_id string required  The run (Run.run_id).
// @param from int required  Earlier step.
// @param to int required  Later step.
// @param forks list<int> derived=stab_keys(from,to)  Time-slice index keys of both steps
//   (filled in by ontochron; in Neo4j Browser: :param forks => [-1] + [L IN range(0, 56) |
//   ($from / toInteger(2^L)) * 64 + L] + [L IN range(0, 56) | ($to / toInteger(2^L)) * 64 + L]).
// @column valid_from  Interval of the relation holding at $to (opened) or at $from (closed).
MATCH (f:Feature)
WHERE f.run_id = $run_id AND f.fork IN $forks
WITH f, f.valid_from <= $from AND (f.valid_to IS NULL OR f.valid_to > $from) AS at_from,
     f.valid_from <= $to AND (f.valid_to IS NULL OR f.valid_to > $to) AS at_to
WHERE at_from <> at_to
RETURN CASE WHEN at_to THEN 'opened' ELSE 'closed' END AS change, 'Feature' AS type,
       f.index AS source, null AS target, f.valid_from AS valid_from, f.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:ACTIVATES]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks
WITH a, b, collect(r) AS rs
WITH a, b, [x IN rs WHERE x.valid_from <= $from AND (x.valid_to IS NULL OR x.valid_to > $from)] AS at_from,
     [x IN rs WHERE x.valid_from <= $to AND (x.valid_to IS NULL OR x.valid_to > $to)] AS at_to
WHERE size(at_from) <> size(at_to)
WITH a, b, size(at_to) > 0 AS opened, head(at_to + at_from) AS r
RETURN CASE WHEN opened THEN 'opened' ELSE 'closed' END AS change, 'ACTIVATES' AS type,
       a.name AS source, b.index AS target, r.valid_from AS valid_from, r.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:CONNECTED]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks
WITH a, b, collect(r) AS rs
WITH a, b, [x IN rs WHERE x.valid_from <= $from AND (x.valid_to IS NULL OR x.valid_to > $from)] AS at_from,
     [x IN rs WHERE x.valid_from <= $to AND (x.valid_to IS NULL OR x.valid_to > $to)] AS at_to
WHERE size(at_from) <> size(at_to)
WITH a, b, size(at_to) > 0 AS opened, head(at_to + at_from) AS r
RETURN CASE WHEN opened THEN 'opened' ELSE 'closed' END AS change, 'CONNECTED' AS type,
       a.name AS source, b.name AS target, r.valid_from AS valid_from, r.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:DUAL]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks
WITH a, b, collect(r) AS rs
WITH a, b, [x IN rs WHERE x.valid_from <= $from AND (x.valid_to IS NULL OR x.valid_to > $from)] AS at_from,
     [x IN rs WHERE x.valid_from <= $to AND (x.valid_to IS NULL OR x.valid_to > $to)] AS at_to
WHERE size(at_from) <> size(at_to)
WITH a, b, size(at_to) > 0 AS opened, head(at_to + at_from) AS r
RETURN CASE WHEN opened THEN 'opened' ELSE 'closed' END AS change, 'DUAL' AS type,
       a.index AS source, b.index AS target, r.valid_from AS valid_from, r.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:DEPENDS_ON]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks
WITH a, b, collect(r) AS rs
WITH a, b, [x IN rs WHERE x.valid_from <= $from AND (x.valid_to IS NULL OR x.valid_to > $from)] AS at_from,
     [x IN rs WHERE x.valid_from <= $to AND (x.valid_to IS NULL OR x.valid_to > $to)] AS at_to
WHERE size(at_from) <> size(at_to)
WITH a, b, size(at_to) > 0 AS opened, head(at_to + at_from) AS r
RETURN CASE WHEN opened THEN 'opened' ELSE 'closed' END AS change, 'DEPENDS_ON' AS type,
       a.index AS source, b.index AS target, r.valid_from AS valid_from, r.valid_to AS valid_to
UNION ALL
MATCH (a)-[r:PARENT_OF]->(b)
WHERE r.run_id = $run_id AND r.fork IN $forks
WITH a, b, collect(r) AS rs
WITH a, b, [x IN rs WHERE x.valid_from <= $from AND (x.valid_to IS NULL OR x.valid_to > $from)] AS at_from,
     [x IN rs WHERE x.valid_from <= $to AND (x.valid_to IS NULL OR x.valid_to > $to)] AS at_to
WHERE size(at_from) <> size(at_to)
WITH a, b, size(at_to) > 0 AS opened, head(at_to + at_from) AS r
RETURN CASE WHEN opened THEN 'opened' ELSE 'closed' END AS change, 'PARENT_OF' AS type,
       a.index AS source, b.index AS target, r.valid_from AS valid_from, r.valid_to AS valid_to
