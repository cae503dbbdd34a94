// NUMA: filled in by its issue.
