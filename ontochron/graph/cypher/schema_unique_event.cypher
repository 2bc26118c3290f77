// Schema: natural key of Event nodes is unique (run_id, uid). Idempotent.
CREATE CONSTRAINT ontochron_event_key IF NOT EXISTS
FOR (x:Event) REQUIRE (x.run_id, x.uid) IS UNIQUE
