// Labelling: the Label versions of run $run_id that describe the features in $features
// (list of Feature.index), with their DESCRIBES interval.
MATCH (l:Label)-[d:DESCRIBES]->(f)
WHERE l.run_id = $run_id AND f.index IN $features
RETURN l.label_id AS label_id, f.index AS feature, l.method AS method, l.text AS text,
       l.score AS score, l.created_at AS created_at, d.valid_from AS valid_from,
       d.valid_to AS valid_to
