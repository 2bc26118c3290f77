// Create PARENT_OF interval relationships (Feature)-[:PARENT_OF]->(Feature) that the ingest diff found missing,
// addressing both endpoints by element id (direct record access instead of two index look-ups
// per row; the ids were read or returned by this same ingest), rows sent as parallel lists
// (cheaper to pack and parse than one map per row). Returns how many were created, so the
// writer can redo a batch by natural key (rel_parent_of_create) when an id no longer resolves.
// $run_id: the run; $s, $t: elementIds of the start Feature and end Feature nodes; one equally
// long list per property (null where absent): $valid_from, $valid_to, $fork, $confidence, $parent_size, $child_size.
UNWIND range(0, size($s) - 1) AS i
MATCH (a) WHERE elementId(a) = $s[i]
MATCH (b) WHERE elementId(b) = $t[i]
CREATE (a)-[:PARENT_OF {run_id: $run_id, valid_from: $valid_from[i], valid_to: $valid_to[i], fork: $fork[i], confidence: $confidence[i], parent_size: $parent_size[i], child_size: $child_size[i]}]->(b)
RETURN count(*) AS n
