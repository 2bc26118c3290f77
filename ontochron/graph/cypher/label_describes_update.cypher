// Labelling: move the end of existing DESCRIBES intervals when a label version is added
// between or after them. $run_id: the run; $rows: list of {label_id, valid_to (null = open),
// fork}.
UNWIND $rows AS row
MATCH (l:Label) WHERE l.run_id = $run_id AND l.label_id = row.label_id
MATCH (l)-[d:DESCRIBES]->(f)
SET d.valid_to = row.valid_to, d.fork = row.fork
