"""A department's kit: an example consumer, and the example messages of asyncapi.json."""
