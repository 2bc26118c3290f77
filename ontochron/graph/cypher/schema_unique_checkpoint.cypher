// Schema: natural key of Checkpoint nodes is unique (run_id, step). Idempotent.
CREATE CONSTRAINT ontochron_checkpoint_key IF NOT EXISTS
FOR (x:Checkpoint) REQUIRE (x.run_id, x.step) IS UNIQUE
