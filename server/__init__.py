"""Read side of summit-assistant: settings, components, retrieval, answering, front doors."""
