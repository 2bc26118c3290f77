// Schema: index on DEPENDS_ON(run_id, fork) relationships for time slices and per-run reads.
// Idempotent.
CREATE INDEX ontochron_depends_on_fork IF NOT EXISTS
FOR ()-[x:DEPENDS_ON]-() ON (x.run_id, x.fork)
