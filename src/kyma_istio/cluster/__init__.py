"""The only package that talks to the API server (through lightkube's AsyncClient).

Everything here works on plain ``dict`` objects as the API server returns them, so the pure decision
modules never see a client type, and errors come out typed by what should happen next (``errors``).
"""
