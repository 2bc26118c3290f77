// Update existing Feature nodes after checkpoints were appended: set the changed properties
// (null removes) and append the new checkpoints' values to activation_rate, only where the
// stored list still has the expected length (so a retried batch cannot append twice).
// $run_id: the run; $rows: list of {index, n (stored list length), tail (values to append),
// props (changed properties other than activation_rate)}.
UNWIND $rows AS row
MATCH (f:Feature) WHERE f.run_id = $run_id AND f.index = row.index
WITH f, row WHERE size(f.activation_rate) = row.n
SET f += row.props
SET f.activation_rate = f.activation_rate + row.tail
