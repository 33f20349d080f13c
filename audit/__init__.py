"""Tamper-evident audit journal: events, Merkle proofs, signed checkpoints, reports."""
