// Overlay: create the run's Primitive nodes and link each to its Feature (Feature.index = feature
// index or lineage id). $run_id; $rows: list of {name, feature, layer, definition, hypothesis}.
UNWIND $rows AS row
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = row.feature
CREATE (p:Primitive {run_id: $run_id, name: row.name, feature: row.feature, layer: row.layer, definition: row.definition, hypothesis: row.hypothesis})
CREATE (p)-[:ASSIGNED_TO {run_id: $run_id}]->(f)
