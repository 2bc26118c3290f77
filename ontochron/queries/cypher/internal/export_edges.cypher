// Export: interval relationships of run $run_id whose type is in $types and whose validity
// interval overlaps steps [$from, $to] (null: unbounded); $types: list of type names.
// $from / $to (int or null): keep what overlaps steps [$from, $to] (null: unbounded).
// One UNION branch per type (a multi-type pattern would scan every node on ArcadeDB).
MATCH (s)-[r:ACTIVATES]->(e)
WHERE r.run_id = $run_id AND 'ACTIVATES' IN $types
  AND ($to IS NULL OR r.valid_from <= $to)
  AND ($from IS NULL OR r.valid_to IS NULL OR r.valid_to > $from)
RETURN 'ACTIVATES' AS type, s.name AS s_name, s.index AS s_index, e.name AS e_name,
       e.index AS e_index, properties(r) AS props
UNION ALL
MATCH (s)-[r:CONNECTED]->(e)
WHERE r.run_id = $run_id AND 'CONNECTED' IN $types
  AND ($to IS NULL OR r.valid_from <= $to)
  AND ($from IS NULL OR r.valid_to IS NULL OR r.valid_to > $from)
RETURN 'CONNECTED' AS type, s.name AS s_name, s.index AS s_index, e.name AS e_name,
       e.index AS e_index, properties(r) AS props
UNION ALL
MATCH (s)-[r:DUAL]->(e)
WHERE r.run_id = $run_id AND 'DUAL' IN $types
  AND ($to IS NULL OR r.valid_from <= $to)
  AND ($from IS NULL OR r.valid_to IS NULL OR r.valid_to > $from)
RETURN 'DUAL' AS type, s.name AS s_name, s.index AS s_index, e.name AS e_name,
       e.index AS e_index, properties(r) AS props
UNION ALL
MATCH (s)-[r:DEPENDS_ON]->(e)
WHERE r.run_id = $run_id AND 'DEPENDS_ON' IN $types
  AND ($to IS NULL OR r.valid_from <= $to)
  AND ($from IS NULL OR r.valid_to IS NULL OR r.valid_to > $from)
RETURN 'DEPENDS_ON' AS type, s.name AS s_name, s.index AS s_index, e.name AS e_name,
       e.index AS e_index, properties(r) AS props
UNION ALL
MATCH (s)-[r:PARENT_OF]->(e)
WHERE r.run_id = $run_id AND 'PARENT_OF' IN $types
  AND ($to IS NULL OR r.valid_from <= $to)
  AND ($from IS NULL OR r.valid_to IS NULL OR r.valid_to > $from)
RETURN 'PARENT_OF' AS type, s.name AS s_name, s.index AS s_index, e.name AS e_name,
       e.index AS e_index, properties(r) AS props
