"""The audit's pure rules: folding a chain into a state, Merkle roots, checkpoints, verification."""
