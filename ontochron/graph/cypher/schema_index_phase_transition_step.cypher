// Schema: index on PhaseTransition(run_id, step) for PhaseTransition events at a step. Idempotent.
CREATE INDEX ontochron_phase_transition_step IF NOT EXISTS
FOR (x:PhaseTransition) ON (x.run_id, x.step)
