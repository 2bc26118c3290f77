// Export: the Triad nodes (3-way AND interactions) of run $run_id whose interval overlaps
// steps [$from, $to] (null: unbounded).
// $from / $to (int or null): keep what overlaps steps [$from, $to] (null: unbounded).
MATCH (t:Triad)
WHERE t.run_id = $run_id
  AND ($to IS NULL OR t.valid_from <= $to)
  AND ($from IS NULL OR t.valid_to IS NULL OR t.valid_to > $from)
RETURN properties(t) AS props
