"""Portfolio: the book at a glance — KPIs, where the risk is, renewals, movers, revenue, retention.

The page script only calls :func:`views._portfolio.render`. Streamlit's test runner (AppTest, used by
the tests and ``make bench``) compiles a page script on every run; the layout, kept in an imported
module, is compiled once per process.
"""

from views._portfolio import render

render()
