"""Project groups and their storage areas, and group membership."""
