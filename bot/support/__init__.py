"""The support service, transport-free: dialogue, conversations, the chat and editor services,
dashboard figures, audit log, change feed and queue board."""
