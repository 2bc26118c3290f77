// Delete Concept nodes (and their relationships) that are no longer in the source.
// $run_id: the run; $rows: list of {name}.
UNWIND $rows AS row
MATCH (c:Concept) WHERE c.run_id = $run_id AND c.name = row.name
DETACH DELETE c
