"""Pulumi ComponentResources: one per concern, each with an Args dataclass."""
