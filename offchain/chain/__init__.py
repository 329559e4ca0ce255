"""The chain side: compile, deploy and a typed client of the PoFL consensus contract."""
