"""The layer below everything: errors, settings, database plumbing, redaction, the shared
vocabulary and languages. Imports nothing of the project."""
