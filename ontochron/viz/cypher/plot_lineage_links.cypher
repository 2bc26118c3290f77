// Plot data: the split and merge links of a lineage run (parent lineage -> child lineage).
// $run_id: the run.
MATCH (a:Feature)-[r:SPLITS_INTO|MERGES_INTO]->(b:Feature)
WHERE r.run_id = $run_id
RETURN type(r) AS type, r.step AS step, a.index AS source, b.index AS target, r.cosine AS cosine
