// Bloom search phrase "changes between step $from and $to": relations holding at exactly one
// of the two steps (named query diff_checkpoints).
// @phrase changes between step $from and $to
// @param from int  Earlier step.
// @param to int  Later step.
MATCH (a)-[r:ACTIVATES|CONNECTED|DUAL|DEPENDS_ON|PARENT_OF]->(b)
WHERE (r.valid_from <= $from AND (r.valid_to IS NULL OR r.valid_to > $from)) <> (r.valid_from <= $to AND (r.valid_to IS NULL OR r.valid_to > $to))
RETURN a, r, b
