"""Every notebook: the plumbing every chapter shares: settings, results files and machine profiles, the one runner, the
one cached build, timing, intervals, metrics and plots."""
