// SafeMem: filled in by its issue.
