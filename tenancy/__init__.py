"""Tenancy: department requests, validation, address allocation, approvals, lifecycle and store."""
