"""After-sales service (售前/售中/售后服务): service tickets and complaints against a
product version."""
