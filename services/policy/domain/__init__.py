"""Pure rules of policy versions: resolving a proposal, the lifecycle, the impact (no I/O)."""
