"""Accounts: the viewer's book, filtered, searched, sorted; select a row to open it.

The page script only calls :func:`views._accounts.render`. Streamlit's test runner (AppTest, used by
the tests and ``make bench``) compiles a page script on every run; the layout, kept in an imported
module, is compiled once per process.
"""

from views._accounts import render

render()
