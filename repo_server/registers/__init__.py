"""The registers of the version manager's desk: the library register (版本信息台账)
and the register of physical items (实物归档), with their services and API routes."""
