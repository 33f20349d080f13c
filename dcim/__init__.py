"""DCIM: facility devices, how they are polled, and the metrics they become."""
