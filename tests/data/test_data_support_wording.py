"""The import summary's history line reads as a person writes it: "1 month", "1.9 months"."""

from datetime import date

from data.readmodel import DataSupport


def _support(days: int) -> DataSupport:
    return DataSupport(shape="billing", accounts=3, active_accounts=2, as_of=date(2024, 9, 30),
                       as_of_basis="the last activity in the data", history_start=date(2024, 8, 31),
                       history_days=days, future_rows={}, targets=["churn"], pages={}, can_train=False,
                       train_note="Training: not yet.", next_steps=["cli.py score"])


def test_history_line_uses_the_singular_for_one_month():
    assert "History: 1 month (31 Aug 2024 to the as-of date)." in _support(30).to_text()
    assert "History: 1.9 months" in _support(58).to_text()
    assert "History: 12 months" in _support(365).to_text()
