"""Write side of summit-assistant: load → chunk → embed → store."""
