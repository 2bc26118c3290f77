// Overlay schema: index on EXPECTS_DEPENDENCY(run_id, fork) for "expected dependencies as of step t".
// Idempotent; run by `ontochron overlay --write`.
CREATE INDEX ontochron_expects_dependency_fork IF NOT EXISTS
FOR ()-[x:EXPECTS_DEPENDENCY]-() ON (x.run_id, x.fork)
