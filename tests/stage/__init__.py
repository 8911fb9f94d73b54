"""Stage tests: one stage on fakes, events fed into its inbox, the events it puts out asserted."""
