"""Modbus TCP: the register client, serialised per gateway."""
