"""The scheduler: the owner of the system's clock and of every household's dates that matter.

It publishes the clock on `assist.clock` (ticks of the wall clock, or a manual clock that an
operator advances over HTTP), and a stream processor fires `RescreeningDue` for each household
when that clock passes its next date that matters (over-time.md).
"""
