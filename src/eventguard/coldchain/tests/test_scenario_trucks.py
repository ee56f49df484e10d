"""The reference scenario at a large scale: more trucks a half-day than fit in an hour."""

import datetime as dt

from eventguard.coldchain.scenarios import TZ, _departure


def test_the_trucks_of_a_half_day_leave_ten_minutes_apart_past_the_hour():
    day = dt.date(2021, 10, 30)
    assert _departure(day, 0, 0) == dt.datetime(2021, 10, 30, 7, 0, tzinfo=TZ)
    assert _departure(day, 0, 5) == dt.datetime(2021, 10, 30, 7, 50, tzinfo=TZ)
    assert _departure(day, 0, 7) == dt.datetime(2021, 10, 30, 8, 10, tzinfo=TZ)
    assert _departure(day, 1, 13) == dt.datetime(2021, 10, 30, 14, 10, tzinfo=TZ)
