"""The lute-exec command line."""
