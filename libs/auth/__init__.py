"""Sign-in: bearer tokens and the identity they carry."""
