// Schema: index on PARENT_OF(run_id, fork) relationships for time slices and per-run reads.
// Idempotent.
CREATE INDEX ontochron_parent_of_fork IF NOT EXISTS
FOR ()-[x:PARENT_OF]-() ON (x.run_id, x.fork)
