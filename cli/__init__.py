"""The dcops command-line interface: the only place that prints or exits."""
