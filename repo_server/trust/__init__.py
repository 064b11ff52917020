"""Signing and the tamper-evident log: the server's keys and keyring, manifests, approval
statements, status documents, the RFC 6962 audit tree, and storage scrubbing.

The formats and the verification rules are in :mod:`policies.trust`; this package holds
the keys, the rows and the services that produce signed documents.
"""
