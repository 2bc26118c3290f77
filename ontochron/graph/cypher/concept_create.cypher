// Create Concept nodes found missing by the ingest diff; returns each one's element id
// (used to create relationships by id).
// $run_id: the run; $rows: list of {name, props: {index, first_seen, last_seen}}.
UNWIND $rows AS row
CREATE (c:Concept {run_id: $run_id, name: row.name, index: row.props.index,
                  first_seen: row.props.first_seen, last_seen: row.props.last_seen})
RETURN row.name AS key, elementId(c) AS id
