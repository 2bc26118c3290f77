// Update properties of existing Concept nodes (null removes a property).
// $run_id: the run; $rows: list of {name, props}.
UNWIND $rows AS row
MATCH (c:Concept) WHERE c.run_id = $run_id AND c.name = row.name
SET c += row.props
