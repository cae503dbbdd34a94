// BenchKit: filled in by its issue.
