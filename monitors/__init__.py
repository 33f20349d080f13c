"""The alerting stack: Prometheus and Alertmanager configs, rules, processes, the shift log."""
