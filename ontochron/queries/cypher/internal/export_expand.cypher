// Export, one hop of --around: the interval relationships (types in $types, overlapping
// [$from, $to]) touching the Concepts named in $concepts or the Features in $features of
// run $run_id.
// $from / $to (int or null): keep what overlaps steps [$from, $to] (null: unbounded).
UNWIND $concepts AS name
MATCH (n:Concept {run_id: $run_id, name: name})-[r:ACTIVATES|CONNECTED]-()
WHERE type(r) IN $types
  AND ($to IS NULL OR r.valid_from <= $to)
  AND ($from IS NULL OR r.valid_to IS NULL OR r.valid_to > $from)
WITH r, startNode(r) AS s, endNode(r) AS e
RETURN type(r) AS type, s.name AS s_name, s.index AS s_index, e.name AS e_name,
       e.index AS e_index, properties(r) AS props
UNION ALL
UNWIND $features AS i
MATCH (n:Feature {run_id: $run_id, index: i})-[r:ACTIVATES|DUAL|DEPENDS_ON|PARENT_OF]-()
WHERE type(r) IN $types
  AND ($to IS NULL OR r.valid_from <= $to)
  AND ($from IS NULL OR r.valid_to IS NULL OR r.valid_to > $from)
WITH r, startNode(r) AS s, endNode(r) AS e
RETURN type(r) AS type, s.name AS s_name, s.index AS s_index, e.name AS e_name,
       e.index AS e_index, properties(r) AS props
