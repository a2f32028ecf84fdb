"""One descriptor per runtime (and the load generator, built the same way), on the shape of runtime.py."""
