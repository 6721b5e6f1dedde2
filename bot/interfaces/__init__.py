"""The edges: the HTTP API and web pages, the command line and the rasa-sdk actions."""
