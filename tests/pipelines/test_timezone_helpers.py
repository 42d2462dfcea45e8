"""``trackflow.timezone`` (Airflow's ``timezone`` helpers): aware datetimes, UTC by default."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from trackflow import timezone


def test_datetimes_are_utc_unless_told() -> None:
    assert timezone.datetime(2022, 1, 1) == dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
    paris = pendulum.timezone("Europe/Paris")
    assert timezone.datetime(2022, 1, 1, tzinfo=paris).utcoffset() == dt.timedelta(hours=1)
    assert timezone.is_localized(timezone.utcnow())
    assert timezone.parse("2025-06-01T12:00") == dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)


def test_aware_and_naive_round_trip() -> None:
    naive = dt.datetime(2025, 1, 1, 9)
    aware = timezone.make_aware(naive, pendulum.timezone("Asia/Tokyo"))
    assert timezone.convert_to_utc(aware) == dt.datetime(2025, 1, 1, 0, tzinfo=dt.UTC)
    assert timezone.make_naive(aware, pendulum.timezone("Asia/Tokyo")) == naive
    assert timezone.convert_to_utc(None) is None
    with pytest.raises(ValueError, match="naive"):
        timezone.make_aware(aware)
    with pytest.raises(ValueError, match="naive"):
        timezone.make_naive(naive)
