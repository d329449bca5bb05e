"""The test suite; shared helpers are in tests.support, inputs in tests/fixtures."""
