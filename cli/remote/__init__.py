"""The CLI as a client of `dcops serve`: the API client and the saved login."""
