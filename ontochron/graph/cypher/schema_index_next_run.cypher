// Schema: index on NEXT(run_id) relationships for per-run reads. Idempotent.
CREATE INDEX ontochron_next_run IF NOT EXISTS
FOR ()-[x:NEXT]-() ON (x.run_id)
