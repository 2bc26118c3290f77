// Create DEPENDS_ON interval relationships (Feature)-[:DEPENDS_ON]->(Feature) that the ingest diff found missing,
// addressing both endpoints by element id (direct record access instead of two index look-ups
// per row; the ids were read or returned by this same ingest), rows sent as parallel lists
// (cheaper to pack and parse than one map per row). Returns how many were created, so the
// writer can redo a batch by natural key (rel_depends_on_create) when an id no longer resolves.
// $run_id: the run; $s, $t: elementIds of the start Feature and end Feature nodes; one equally
// long list per property (null where absent): $valid_from, $valid_to, $fork, $confidence, $p_value, $q_value, $support.
UNWIND range(0, size($s) - 1) AS i
MATCH (a) WHERE elementId(a) = $s[i]
MATCH (b) WHERE elementId(b) = $t[i]
CREATE (a)-[:DEPENDS_ON {run_id: $run_id, valid_from: $valid_from[i], valid_to: $valid_to[i], fork: $fork[i], confidence: $confidence[i], p_value: $p_value[i], q_value: $q_value[i], support: $support[i]}]->(b)
RETURN count(*) AS n
