"""Server-rendered pages for people in a browser."""
