// Chain consecutive checkpoints: (a:Checkpoint)-[:NEXT]->(b:Checkpoint).
// $run_id: the run; $rows: list of {a, b} (the two steps).
UNWIND $rows AS row
MATCH (a:Checkpoint) WHERE a.run_id = $run_id AND a.step = row.a
MATCH (b:Checkpoint) WHERE b.run_id = $run_id AND b.step = row.b
CREATE (a)-[:NEXT {run_id: $run_id}]->(b)
