// Delete PARENT_OF interval relationships by natural key (every copy, duplicates included).
// $run_id: the run; $rows: list of {a, b, valid_from} (a = start Feature.index, b = end Feature.index).
UNWIND $rows AS row
MATCH (a:Feature) WHERE a.run_id = $run_id AND a.index = row.a
MATCH (a)-[r:PARENT_OF]->(b) WHERE b.index = row.b AND r.valid_from = row.valid_from
DELETE r
