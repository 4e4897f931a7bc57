"""The only package that starts processes: istioctl for install, purge and rendering.

``istioctl`` runs the binary with a timeout and its own process group; ``summary`` turns its output into
one short sentence for the CR status.
"""
