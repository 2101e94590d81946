"""The web side: the FastAPI app, the Gradio pages, document administration and the OpenAI-compatible API."""
