"""Products, versions and their files."""
