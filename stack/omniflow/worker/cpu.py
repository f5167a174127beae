"""The CPU-bound halves of the simulated reports, run in a process pool.

Functions here are plain, top-level and pure, so a ``ProcessPoolExecutor`` can pickle them and
the event loop never waits on a computation. Each builds its report from a seeded generator, so
the same parameters always give the same output, and then burns ``burn_rounds`` of hashing to
stand for the expensive part of a real report (the output does not depend on it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any

REGIONS = ("north", "south", "east", "west")
PRODUCTS = ("anvil", "bolt", "cog", "drill", "easel", "flute", "gear", "hinge", "ink", "jack")


def burn(rounds: int) -> str:
    """Spends CPU time deterministically; returns the final digest so it cannot be skipped."""
    digest = b"omniflow"
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:16]


def sales_summary(seed: int, region: str, start: str, end: str, burn_rounds: int) -> dict[str, Any]:
    """Revenue per region and the best-selling products over a date range."""
    rng = random.Random(f"sales:{seed}")
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    days = (last - first).days + 1
    regions = REGIONS if region == "all" else (region,)
    per_region = {name: {"orders": 0, "revenue": 0.0} for name in regions}
    per_product: dict[str, float] = {}
    for _ in range(days):
        for name in regions:
            for _ in range(2 + int(rng.random() * 7)):
                amount = round(5 + rng.random() * 495, 2)
                product = PRODUCTS[int(rng.random() * len(PRODUCTS))]
                per_region[name]["orders"] += 1
                per_region[name]["revenue"] += amount
                per_product[product] = per_product.get(product, 0.0) + amount
    rows = [
        {
            "region": name,
            "orders": totals["orders"],
            "revenue": round(totals["revenue"], 2),
            "avg_order": round(totals["revenue"] / totals["orders"], 2) if totals["orders"] else 0,
        }
        for name, totals in per_region.items()
    ]
    top = sorted(per_product.items(), key=lambda item: (-item[1], item[0]))[:5]
    return {
        "summary": {
            "orders": sum(r["orders"] for r in rows),
            "revenue": round(sum(r["revenue"] for r in rows), 2),
            "currency": "EUR",
            "days": days,
        },
        "regions": rows,
        "top_products": [{"product": p, "revenue": round(v, 2)} for p, v in top],
        "checksum": burn(burn_rounds),
    }


def inventory_snapshot(seed: int, warehouse: str, include_zero_stock: bool,
                       burn_rounds: int) -> dict[str, Any]:
    """Stock level and value of each SKU in one warehouse."""
    rng = random.Random(f"inventory:{seed}:{warehouse}")
    items = []
    for number in range(rng.randint(20, 60)):
        stock = max(0, rng.randint(-15, 120))
        price = round(rng.uniform(1, 90), 2)
        if stock or include_zero_stock:
            items.append({"sku": f"{warehouse[:3].upper()}-{number:04d}", "stock": stock,
                          "value": round(stock * price, 2)})
    return {
        "summary": {
            "skus": len(items),
            "units": sum(i["stock"] for i in items),
            "value": round(sum(i["value"] for i in items), 2),
            "zero_stock": sum(1 for i in items if not i["stock"]),
        },
        "items": items,
        "checksum": burn(burn_rounds),
    }


def user_activity(seed: int, days: int, top: int, burn_rounds: int) -> dict[str, Any]:
    """The most active users over the last ``days`` days."""
    rng = random.Random(f"activity:{seed}")
    users = {f"user-{n:04d}": [0, 0] for n in range(rng.randint(50, 200))}
    names = sorted(users)
    for name in rng.choices(names, k=days * 40):
        counts = users[name]
        counts[0] += 1
        counts[1] += 1 + int(rng.random() * 30)
    ranked = sorted(users.items(), key=lambda item: (-item[1][1], item[0]))[:top]
    return {
        "summary": {
            "active_users": sum(1 for c in users.values() if c[0]),
            "sessions": sum(c[0] for c in users.values()),
            "days": days,
        },
        "top_users": [{"user": u, "sessions": c[0], "events": c[1]} for u, c in ranked],
        "checksum": burn(burn_rounds),
    }
