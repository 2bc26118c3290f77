// Schema: natural key of Run nodes is unique (run_id). Idempotent.
CREATE CONSTRAINT ontochron_run_key IF NOT EXISTS
FOR (x:Run) REQUIRE (x.run_id) IS UNIQUE
