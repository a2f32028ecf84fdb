"""Statistics over results files that the tables alone do not give: the variance
of each headline metric by level of repetition and the counts that reach a
target precision in the least time (variance.py, Kalibera & Jones), and ratios
between subjects with intervals from a two-level bootstrap (ratios.py). Pure
functions of the read model: readers and the session's precision loop share them."""
