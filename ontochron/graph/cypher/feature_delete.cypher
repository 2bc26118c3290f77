// Delete Feature nodes (and their relationships) that are no longer in the source, together
// with the Label versions that describe nothing but them (in the same transaction, so no
// Label is ever left without its Feature). A Label that also describes another Feature is
// kept here; label_orphans_delete removes it once it describes none.
// $run_id: the run; $rows: list of {index}. Returns the features and labels deleted.
UNWIND $rows AS row
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = row.index
OPTIONAL MATCH (l)-[:DESCRIBES]->(f)
  WHERE NOT EXISTS { MATCH (l)-[:DESCRIBES]->(g) WHERE g <> f }
WITH f, collect(DISTINCT l) AS labels
FOREACH (x IN labels | DETACH DELETE x)
DETACH DELETE f
RETURN count(f) AS features, sum(size(labels)) AS labels
