// Schema: index on CONNECTED(run_id, fork) relationships for time slices and per-run reads.
// Idempotent.
CREATE INDEX ontochron_connected_fork IF NOT EXISTS
FOR ()-[x:CONNECTED]-() ON (x.run_id, x.fork)
