"""Mail about requests: to whoever may decide one, to the requester once it is decided, and
reminders of what has waited too long (docs/operations.md, "Mail")."""
