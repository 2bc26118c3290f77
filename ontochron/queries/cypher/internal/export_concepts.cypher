// Export: the Concept nodes of run $run_id present at some checkpoint in [$from, $to].
// $from / $to (int or null): keep what overlaps steps [$from, $to] (null: unbounded).
MATCH (c:Concept)
WHERE c.run_id = $run_id
  AND ($to IS NULL OR c.first_seen <= $to) AND ($from IS NULL OR c.last_seen >= $from)
RETURN c.name AS key, properties(c) AS props
