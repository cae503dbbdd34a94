// Gofer: filled in by its issue.
