"""Signed build provenance: the keys a group trusts to sign its pipelines' in-toto
attestations, and the attestations attached to versions (docs/provenance.md)."""
