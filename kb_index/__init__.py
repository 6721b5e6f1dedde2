"""FAQ store and the hybrid (dense + character n-gram) retriever over it."""
