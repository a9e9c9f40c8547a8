"""The code pipeline: coder → reviewer → judge → escalation, grounded in running the code."""
