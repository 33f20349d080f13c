"""SNMP protocol stack: BER, PDUs, v3 user-based security and the asyncio clients."""
