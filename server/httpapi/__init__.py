"""The HTTP front door: a FastAPI app over the core (create_app)."""
