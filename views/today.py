"""Today: what needs doing now — tasks due, renewals, rising risk, new alerts, accounts nobody touched.

The page script only calls :func:`views._today.render` (compiled once per process, like Accounts).
"""

from views._today import render

render()
