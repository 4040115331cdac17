"""Lightning callbacks: progress grids, config bookkeeping, metrics."""
