// Bloom search phrase "events between step $from and $to": the events at those checkpoints
// with the concepts and features they concern (named query events_between).
// @phrase events between step $from and $to
// @param from int  First step (inclusive).
// @param to int  Last step (inclusive).
MATCH (e)-[at:AT]->(k:Checkpoint)
WHERE k.step >= $from AND k.step <= $to
OPTIONAL MATCH (e)-[s:OF_CONCEPT|OF_FEATURE|WITH_CONCEPT]->(x)
RETURN e, at, k, s, x
