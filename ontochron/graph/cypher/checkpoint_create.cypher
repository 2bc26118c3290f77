// Create Checkpoint nodes and attach them to their Run with HAS_CHECKPOINT.
// $run_id: the run (its Run node must exist); $rows: list of {step, props} where props holds
// ordinal, n_concepts and one value per ontology curve (null when NaN).
UNWIND $rows AS row
MATCH (run:Run) WHERE run.run_id = $run_id
CREATE (k:Checkpoint {run_id: $run_id, step: row.step})
SET k += row.props
CREATE (run)-[:HAS_CHECKPOINT {run_id: $run_id}]->(k)
