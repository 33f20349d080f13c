"""`dcops serve`: the authenticated API over the tenancy store, the audit journal and the alerts."""
