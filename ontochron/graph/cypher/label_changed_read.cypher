// Labelling: features whose set of activating concepts changed after step $since in run
// $run_id (an ACTIVATES interval starts or ends at a later step).
MATCH (c)-[r:ACTIVATES]->(f)
WHERE r.run_id = $run_id
  AND (r.valid_from > $since OR (r.valid_to IS NOT NULL AND r.valid_to > $since))
RETURN DISTINCT f.index AS feature
