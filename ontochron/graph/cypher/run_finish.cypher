// Finish an ingest (written last): the run's checkpoint steps, last step and status.
// $run_id: the run; $props: steps, n_checkpoints, first_step, last_step.
MATCH (r:Run) WHERE r.run_id = $run_id
SET r += $props, r.status = 'complete'
