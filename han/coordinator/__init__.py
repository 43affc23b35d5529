"""The premise-side coordinator: a zigpy ControllerApplication fed by signed commands from the head-end.

Out of scope: Smart Energy certificate-based key establishment (CBKE) needs
certified hardware and certificates; this coordinator joins devices with
install-code-derived link keys only.
"""
