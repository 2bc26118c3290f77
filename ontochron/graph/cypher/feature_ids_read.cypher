// Element ids of a run's Feature nodes by natural key, so that relationships can be created by
// id (rel_*_create_by_id) instead of by two index look-ups per row.
// $run_id: the run; $keys: list of Feature.index values.
UNWIND $keys AS key
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = key
RETURN key, elementId(f) AS id
