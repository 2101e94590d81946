"""The HTTP routes, one router per API: questions, the OpenAI-compatible endpoint, documents, health."""
