"""Account 360: header, scores and reasons, what-if, usage, timeline, playbooks and notes, contacts.

The page script only calls :func:`views._account.render`. Streamlit's test runner (AppTest, used by
the tests and ``make bench``) compiles a page script on every run; the layout, kept in an imported
module, is compiled once per process.
"""

from views._account import render

render()
