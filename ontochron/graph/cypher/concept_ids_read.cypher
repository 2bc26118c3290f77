// Element ids of a run's Concept nodes by natural key, so that relationships can be created by
// id (rel_*_create_by_id) instead of by two index look-ups per row.
// $run_id: the run; $keys: list of Concept.name values.
UNWIND $keys AS key
MATCH (c:Concept) WHERE c.run_id = $run_id AND c.name = key
RETURN key, elementId(c) AS id
