// Every run in the store with its last checkpoint step, sorted by run_id (no parameters).
MATCH (r:Run)
RETURN r.run_id AS run_id, r.last_step AS last_step, r.status AS status
ORDER BY run_id
