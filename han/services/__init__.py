"""Writes for the HAN app, one module per concern: keys, networks, commissioning, relay."""
