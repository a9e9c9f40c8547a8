"""Local AI Workspace: a local, private AI workspace served over the LAN. Importing it does nothing."""
