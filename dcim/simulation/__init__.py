"""The simulated machine room: scenarios, device simulators on loopback, and their record."""
