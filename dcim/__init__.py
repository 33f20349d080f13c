"""DCIM: facility devices, their metrics, and the monitors that watch them."""
