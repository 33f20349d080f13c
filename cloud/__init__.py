"""What actually runs in the clouds: inventory, usage against quotas, compliance scan, drift."""
