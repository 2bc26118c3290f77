// Labelling: create new Label versions and their DESCRIBES interval to the Feature.
// $run_id: the run; $rows: list of {feature, label_id, valid_from, valid_to (null = open),
// fork, props} where props holds text, method, model, score, prompt_version, created_at,
// evidence_hash, step, explanation, confidence (nulls are not stored).
UNWIND $rows AS row
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = row.feature
CREATE (l:Label {run_id: $run_id, label_id: row.label_id})
SET l += row.props
CREATE (l)-[:DESCRIBES {run_id: $run_id, valid_from: row.valid_from, valid_to: row.valid_to, fork: row.fork}]->(f)
