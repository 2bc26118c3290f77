// Create ConnectionBreak event nodes (two concepts stop being connected), each linked [:AT] to its Checkpoint, [:OF_CONCEPT] to its Concept and [:WITH_CONCEPT] to the partner.
// $run_id: the run; $rows: list of {uid, props} where props holds kind, step, concept, partner, shared
// (other properties are written afterwards by event_update).
UNWIND $rows AS row
MATCH (k:Checkpoint) WHERE k.run_id = $run_id AND k.step = row.props.step
CREATE (e:Event:ConnectionBreak {run_id: $run_id, uid: row.uid, kind: row.props.kind, step: row.props.step, concept: row.props.concept, partner: row.props.partner, shared: row.props.shared})
CREATE (e)-[:AT {run_id: $run_id}]->(k)
WITH e, row
MATCH (c:Concept) WHERE c.run_id = $run_id AND c.name = row.props.concept
MATCH (p:Concept) WHERE p.run_id = $run_id AND p.name = row.props.partner
CREATE (e)-[:OF_CONCEPT {run_id: $run_id}]->(c)
CREATE (e)-[:WITH_CONCEPT {run_id: $run_id}]->(p)
