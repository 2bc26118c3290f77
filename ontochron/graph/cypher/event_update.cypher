// Update properties of existing event nodes (any Event label) by uid; null removes one.
// $run_id: the run; $rows: list of {uid, props}.
UNWIND $rows AS row
MATCH (e:Event) WHERE e.run_id = $run_id AND e.uid = row.uid
SET e += row.props
