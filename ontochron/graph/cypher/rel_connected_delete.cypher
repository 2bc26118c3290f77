// Delete CONNECTED interval relationships by natural key (every copy, duplicates included).
// $run_id: the run; $rows: list of {a, b, valid_from} (a = start Concept.name, b = end Concept.name).
UNWIND $rows AS row
MATCH (a:Concept) WHERE a.run_id = $run_id AND a.name = row.a
MATCH (a)-[r:CONNECTED]->(b) WHERE b.name = row.b AND r.valid_from = row.valid_from
DELETE r
