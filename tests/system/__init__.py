"""`pofl` as a user runs it: the command line end to end, in process (CliRunner) or as processes."""
