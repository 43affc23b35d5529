"""Writes for the HAN app, one module per concern: keys, networks, commissioning, device control, commands, relay.

What each kind of coordinator command does lives in its command type (``han.commands``).
"""
