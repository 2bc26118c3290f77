// Bloom search phrase "features shared with run $other_run": SAME_AS matches between the
// features of any run and those of run $other_run (named query shared_features).
// @phrase features shared with run $other_run
// @param other_run string Run.run_id  The other run.
MATCH p = (a:Feature)-[:SAME_AS]-(b:Feature)
WHERE b.run_id = $other_run
RETURN p
