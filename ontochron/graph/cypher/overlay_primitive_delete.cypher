// Overlay: remove the run's Primitive nodes with their ASSIGNED_TO and EXPECTS_* relationships
// (written again right after, so `ontochron overlay --write` is idempotent).
// $run_id: the run.
MATCH (p:Primitive) WHERE p.run_id = $run_id DETACH DELETE p
