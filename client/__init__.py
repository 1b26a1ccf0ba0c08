"""pinlet.client: a thin typed client for the pinlet service."""
