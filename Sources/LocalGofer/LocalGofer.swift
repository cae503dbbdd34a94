// LocalGofer: filled in by its issue.
