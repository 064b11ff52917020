"""``depot``: the command-line client for people and CI pipelines.

It talks to a Depot server over HTTP only and checks what it downloads itself.
"""
