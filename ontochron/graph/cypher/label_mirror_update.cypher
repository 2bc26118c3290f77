// Labelling: mirror each feature's latest label onto the Feature (label, label_score,
// label_method, label_step, label_id) for captions. $run_id: the run; $rows: list of
// {feature, text, score (null removes it), method, step, label_id}.
UNWIND $rows AS row
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = row.feature
SET f.label = row.text, f.label_score = row.score, f.label_method = row.method,
    f.label_step = row.step, f.label_id = row.label_id
