"""The bank's rules, pure: names, version numbers, roles and access decisions.

Nothing here does I/O or reads a clock; callers pass plain facts (and the time, when a
rule needs one) and get back a value or a :class:`~policies.decisions.Decision`.
Both the server and the client import this package, so a rule is written once.
"""
