"""Dialogue, triage policy, engine and command line of the triage chatbot engine."""
