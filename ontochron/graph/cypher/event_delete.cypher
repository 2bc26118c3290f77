// Delete event nodes (any Event label, with their links) by uid.
// $run_id: the run; $rows: list of {uid}.
UNWIND $rows AS row
MATCH (e:Event) WHERE e.run_id = $run_id AND e.uid = row.uid
DETACH DELETE e
