"""Sentence encoders and the embedding intent classifier."""
