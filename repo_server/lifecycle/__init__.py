"""The governed lifecycle: upgrade, acceptance, check-in and check-out requests."""
