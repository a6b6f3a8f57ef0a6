"""Output checks of the module-library examples (orders_etl, petal_json), used by test_examples.py."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

REVENUE = [  # country, month, orders, revenue, customers
    ("DE", "2024-01", 1, 50.0, 1),
    ("DE", "2024-03", 1, 75.0, 1),
    ("FR", "2024-01", 1, 39.8, 1),
    ("FR", "2024-02", 2, 180.0, 2),
    ("FR", "2024-03", 1, 120.0, 1),
    ("IT", "2024-02", 1, 29.97, 1),
]


def check_orders_etl(root: Path, manifest: dict[str, Any]) -> None:
    out = root / "out/orders_etl"
    parquet = out / "revenue_by_country.parquet"
    frame = pd.read_parquet(parquet).sort_values(["country", "month"]).reset_index(drop=True)
    assert list(frame.columns) == ["country", "month", "orders", "revenue", "customers"]
    got = [(r.country, r.month, r.orders, round(r.revenue, 2), r.customers) for r in frame.itertuples()]
    assert got == REVENUE
    with sqlite3.connect(out / "warehouse.sqlite") as db:
        query = "SELECT country, month, orders, round(revenue, 2), customers FROM revenue_by_country"
        table = sorted(db.execute(query))
        schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'customers'").fetchone()[0]
    assert table == REVENUE
    assert "PRIMARY KEY (customer_id)" in schema
    with open(out / "unknown_customers.csv", newline="") as fh:
        unknown = list(csv.DictReader(fh))
    assert [(r["order_id"], r["customer_id"]) for r in unknown] == [("1008", "99")]
    modules = manifest["modules"]
    if manifest["execution_mode"] == "pandas":
        assert modules["orders"]["globals"]["files_read"] == 3 and modules["orders"]["globals"]["row_count"] == 12
        assert modules["typed"]["globals"]["rows_dropped"] == 1  # '12,50' is not a float
        assert modules["typed"]["events"][0]["name"] == "invalid_values"
        assert modules["latest"]["globals"]["rows_dropped"] == 2  # orders 1003 and 1004 were sent twice
        assert modules["enrich"]["globals"]["rows_unmatched"] == 1
    assert modules["to_table"]["globals"]["row_count"] == len(REVENUE)
    assert modules["unknown_customers"]["globals"]["row_count"] == 1
    assert modules["customers"]["stats"]["database"].startswith("sqlite:///")


def check_petal_json(root: Path, manifest: dict[str, Any]) -> None:
    with open(root / "out/petal_json/summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["timestamp", "level", "host", "user_id", "first_role", "path", "duration_ms",
                             "error_code"]
    assert len(rows) == 6
    assert rows[3] == {"timestamp": "2024-05-01T10:00:05Z", "level": "ERROR", "host": "web-2", "user_id": "17",
                       "first_role": "buyer", "path": "/pay", "duration_ms": "95", "error_code": "CARD_DECLINED"}
    assert rows[0]["user_id"] == "" and rows[5]["error_code"] == "OOM"
    assert manifest["modules"]["summary"]["globals"]["row_count"] == 6


CHECKS = {"orders_etl": check_orders_etl, "petal_json": check_petal_json}
