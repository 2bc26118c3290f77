// Create Merge event nodes (several lineages end and one new lineage starts from them at this step), each linked [:AT] to its Checkpoint and
// [:OF_FEATURE {role}] to every Feature (lineage) it involves: role 'source' for the lineages
// that end, 'target' for those that start.
// $run_id: the run; $rows: list of {uid, props} where props holds kind, step, feature
// (the merged (target) lineage), sources, targets (lists of Feature.index) and cosines (decoder cosine of each
// link, aligned with the longer of sources/targets; -2.0 where unknown).
UNWIND $rows AS row
MATCH (k:Checkpoint) WHERE k.run_id = $run_id AND k.step = row.props.step
CREATE (e:Event:Merge {run_id: $run_id, uid: row.uid, kind: row.props.kind, step: row.props.step, feature: row.props.feature, sources: row.props.sources, targets: row.props.targets, cosines: row.props.cosines})
CREATE (e)-[:AT {run_id: $run_id}]->(k)
WITH e, row
UNWIND [s IN row.props.sources | [s, 'source']] + [t IN row.props.targets | [t, 'target']] AS link
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = link[0]
CREATE (e)-[:OF_FEATURE {run_id: $run_id, role: link[1]}]->(f)
