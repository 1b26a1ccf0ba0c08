"""Generated gRPC code for pinlet v1alpha1."""
