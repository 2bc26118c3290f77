// Create Birth event nodes (the (concept, feature) pair starts its last activation), each linked [:AT] to its Checkpoint, [:OF_CONCEPT] to its Concept and [:OF_FEATURE] to its Feature.
// $run_id: the run; $rows: list of {uid, props} where props holds kind, step, concept, feature
// (other properties are written afterwards by event_update).
UNWIND $rows AS row
MATCH (k:Checkpoint) WHERE k.run_id = $run_id AND k.step = row.props.step
CREATE (e:Event:Birth {run_id: $run_id, uid: row.uid, kind: row.props.kind, step: row.props.step, concept: row.props.concept, feature: row.props.feature})
CREATE (e)-[:AT {run_id: $run_id}]->(k)
WITH e, row
MATCH (c:Concept) WHERE c.run_id = $run_id AND c.name = row.props.concept
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = row.props.feature
CREATE (e)-[:OF_CONCEPT {run_id: $run_id}]->(c)
CREATE (e)-[:OF_FEATURE {run_id: $run_id}]->(f)
