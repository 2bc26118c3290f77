// Delete NEXT links between checkpoints that are no longer consecutive (every copy).
// $run_id: the run; $rows: list of {a, b} (the two steps).
UNWIND $rows AS row
MATCH (a:Checkpoint) WHERE a.run_id = $run_id AND a.step = row.a
MATCH (a)-[r:NEXT]->(b) WHERE b.step = row.b
DELETE r
