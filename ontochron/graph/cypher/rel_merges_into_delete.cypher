// Delete MERGES_INTO lineage relationships by natural key (every copy, duplicates included).
// $run_id: the run; $rows: list of {a, b} (a = source Feature.index, b = target Feature.index).
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_id AND a.index = row.a
MATCH (a)-[r:MERGES_INTO]->(b) WHERE b.index = row.b AND r.run_id = $run_id
DELETE r
