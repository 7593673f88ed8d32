package postgres

// ParallelTableSumsSplit is parallelTableSums, for the external tests.
var ParallelTableSumsSplit = parallelTableSums

// SplitBlocks is splitBlocks, for the external tests.
const SplitBlocks = splitBlocks
