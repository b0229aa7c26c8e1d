"""REST versus direct gRPC on the real apiserver (see `__main__`)."""
