// Schema: index on ACTIVATES(run_id, fork) relationships for time slices and per-run reads.
// Idempotent.
CREATE INDEX ontochron_activates_fork IF NOT EXISTS
FOR ()-[x:ACTIVATES]-() ON (x.run_id, x.fork)
