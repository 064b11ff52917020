"""People, sign-in and API tokens."""
