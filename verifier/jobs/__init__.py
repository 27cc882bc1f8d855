"""Long work off the request: a jobs table, worked by `verifier jobs work` and the scheduler."""
