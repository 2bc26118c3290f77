// Schema: index on DUAL(run_id, fork) relationships for time slices and per-run reads.
// Idempotent.
CREATE INDEX ontochron_dual_fork IF NOT EXISTS
FOR ()-[x:DUAL]-() ON (x.run_id, x.fork)
