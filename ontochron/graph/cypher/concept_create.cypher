// Create Concept nodes found missing by the ingest diff.
// $run_id: the run; $rows: list of {name, props: {index, first_seen, last_seen}}.
UNWIND $rows AS row
CREATE (:Concept {run_id: $run_id, name: row.name, index: row.props.index,
                  first_seen: row.props.first_seen, last_seen: row.props.last_seen})
