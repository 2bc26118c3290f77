// Labelling: list the run ids stored (to pick the only run when --run is not given).
// No parameters.
MATCH (r:Run)
RETURN r.run_id AS run_id
ORDER BY run_id
