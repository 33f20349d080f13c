"""The lab OpenStack: a real control plane from Debian's packages, every service on 127.0.0.1."""
