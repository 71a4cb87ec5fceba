"""Pure rules of the scheduler: a household's next date that matters, how a manual clock moves."""
