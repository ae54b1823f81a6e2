"""Generated test data shared by several test packages."""
