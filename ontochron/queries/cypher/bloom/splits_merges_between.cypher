// Bloom search phrase "splits and merges from $from to $to": the SPLITS_INTO / MERGES_INTO
// links at steps $from..$to (named query splits_merges_between).
// @phrase splits and merges from $from to $to
// @param from int Checkpoint.step  First step (inclusive).
// @param to int Checkpoint.step  Last step (inclusive).
MATCH p = ()-[r:SPLITS_INTO|MERGES_INTO]->()
WHERE r.step >= $from AND r.step <= $to
RETURN p
