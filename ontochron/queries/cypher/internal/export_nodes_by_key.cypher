// Export: Concept nodes named in $concepts and Feature nodes indexed in $features, run $run_id.
// $concepts: list of names; $features: list of indices.
UNWIND $concepts AS name
MATCH (c:Concept {run_id: $run_id, name: name})
RETURN 'Concept' AS label, c.name AS key, properties(c) AS props
UNION ALL
UNWIND $features AS i
MATCH (f:Feature {run_id: $run_id, index: i})
RETURN 'Feature' AS label, f.index AS key, properties(f) AS props
