// Labelling schema: Label versions are unique by (run_id, label_id). Idempotent.
CREATE CONSTRAINT ontochron_label_key IF NOT EXISTS
FOR (x:Label) REQUIRE (x.run_id, x.label_id) IS UNIQUE
