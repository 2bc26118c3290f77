// Export: the Feature nodes of run $run_id alive at some step in [$from, $to] (all of them,
// never-born included, when both are null).
// $from / $to (int or null): keep what overlaps steps [$from, $to] (null: unbounded).
MATCH (f:Feature)
WHERE f.run_id = $run_id
  AND (($from IS NULL AND $to IS NULL)
       OR (f.valid_from <= coalesce($to, f.valid_from)
           AND ($from IS NULL OR f.valid_to IS NULL OR f.valid_to > $from)))
RETURN f.index AS key, properties(f) AS props
