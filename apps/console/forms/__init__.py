"""Page forms, one module per page group."""
