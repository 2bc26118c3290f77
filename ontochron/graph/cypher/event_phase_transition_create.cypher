// Create PhaseTransition event nodes (a curve jumps), each linked [:AT] to its Checkpoint.
// $run_id: the run; $rows: list of {uid, props} where props holds kind, step, metric, delta, direction, z
// (other properties are written afterwards by event_update).
UNWIND $rows AS row
MATCH (k:Checkpoint) WHERE k.run_id = $run_id AND k.step = row.props.step
CREATE (e:Event:PhaseTransition {run_id: $run_id, uid: row.uid, kind: row.props.kind, step: row.props.step, metric: row.props.metric, delta: row.props.delta, direction: row.props.direction, z: row.props.z})
CREATE (e)-[:AT {run_id: $run_id}]->(k)
