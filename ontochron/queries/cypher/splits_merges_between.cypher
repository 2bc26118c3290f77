// @name splits_merges_between
// @summary Splits and merges of run $run_id at steps $from..$to (both included): one row per
//   link (SPLITS_INTO / MERGES_INTO), with the lineage that ends (source, at the previous
//   checkpoint) and the one that starts (target), their dictionary indices and the cosine.
// @param run_id string required  The run (Run.run_id).
// @param from int required  First step (inclusive).
// @param to int required  Last step (inclusive).
// @column step  Checkpoint at which the change is first seen.
// @column kind  'split' (one source, several targets) or 'merge' (several sources, one target).
// @column source_index  The source's dictionary index at the previous checkpoint.
// @column target_index  The target's dictionary index at this checkpoint.
MATCH (a)-[r:SPLITS_INTO|MERGES_INTO]->(b)
WHERE r.run_id = $run_id AND r.step >= $from AND r.step <= $to
MATCH (k:Checkpoint)
WHERE k.run_id = $run_id AND k.step = r.step
RETURN r.step AS step, CASE WHEN type(r) = 'SPLITS_INTO' THEN 'split' ELSE 'merge' END AS kind,
       a.index AS source, b.index AS target, r.cosine AS cosine,
       a.dict_index[k.ordinal - 1] AS source_index, b.dict_index[k.ordinal] AS target_index
ORDER BY step, kind, source, target
