"""pinlet.server: machine model, allocation policies and the node-local service."""
