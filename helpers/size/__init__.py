"""`python -m helpers.size.answers` (no notebook yet): what changes with model size: answer quality of the RAG chain
per model and weight format."""
