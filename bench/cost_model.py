#!/usr/bin/env python3
"""The cost model of docs/cost.md: price constants x the project's measured figures.

    python3 bench/cost_model.py            # prints the tables of docs/cost.md (markdown)

Reads docs/benchmarks/e2e.json (the processor's per-stage timings on the local stack),
docs/benchmarks/lambda_memory.json (the resize core's duration under Lambda-like CPU quotas,
bench/lambda_memory.py) and docs/benchmarks/results.json (input and output sizes). Standard
library only. Prices are list prices for us-east-1 without free tiers; see PRICES_AS_OF.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "docs" / "benchmarks"

PRICES_AS_OF = "AWS public list prices for us-east-1 as known on 2025-06 (not re-read online: this machine has no internet; check before relying on them)"
PRICE = {
    "lambda_gb_s_x86": 0.0000166667,
    "lambda_gb_s_arm": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "apigw_rest_request": 3.50 / 1e6,
    "s3_put": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1000,  # GET, HEAD
    "s3_gb_month": 0.023,
    "s3_transfer_out_gb": 0.09,
    "dynamodb_wru": 0.625 / 1e6,  # on-demand, after the 2024-11 price cut
    "dynamodb_rru": 0.125 / 1e6,
    "dynamodb_gb_month": 0.25,
    "cloudfront_gb": 0.085,
    "cloudfront_https_request": 0.0100 / 10000,
    "logs_ingest_gb": 0.50,
    "xray_trace": 5.00 / 1e6,
    "cw_alarm_month": 0.10,
    "cw_dashboard_month": 3.00,  # beyond the 3 free dashboards of an account
    "cw_custom_metric_month": 0.30,  # prorated by the hour a metric is published
    "sns_email": 2.00 / 100000,  # beyond the first 1,000 a month
    "interface_endpoint_az_hour": 0.01,
    "interface_endpoint_gb": 0.01,
    "nat_gateway_hour": 0.045,
    "nat_gateway_gb": 0.045,
    "waf_web_acl_month": 5.00,
    "waf_rule_month": 1.00,
    "waf_request": 0.60 / 1e6,
    "kms_key_month": 1.00,
    # Originals kept (issue 23): the two colder classes that still read instantly.
    "s3_ia_gb_month": 0.0125,
    "s3_glacier_ir_gb_month": 0.004,
    "s3_ia_retrieval_gb": 0.01,
    "s3_glacier_ir_retrieval_gb": 0.03,
    "s3_ia_transition": 0.01 / 1000,  # lifecycle transition requests
    "s3_glacier_ir_transition": 0.02 / 1000,
    "s3_ia_get": 0.001 / 1000,
    "s3_glacier_ir_get": 0.01 / 1000,
    # Outcome events.
    "eventbridge_event": 1.00 / 1e6,  # custom events published (64 KB chunks)
    "eventbridge_archive_gb": 0.10,  # archived (processed) per GB, plus S3-like storage
    "api_destination_call": 0.20 / 1e6,
    "secrets_manager_secret_month": 0.40,
}
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 30.4

# Per upload at the defaults (one photo, three variants, the page polling once after a 500 ms
# first delay): what each part is asked to do. Counted from the code, not measured.
API_REQUESTS = 3  # OPTIONS preflight of the JSON POST, POST /uploads, GET /uploads/{id}
API_LAMBDA_MS = 25  # assumed warm duration of the API function per request (256 MB)
API_MEMORY_MB = 256
S3_PUTS_BESIDE_OUTPUTS = 1 + 1  # the original and the manifest; one PUT per output besides
S3_GETS = 1 + 1 + 3  # HEAD + GET of the original, one GET per size the page shows (3 sizes)
DYNAMODB_WRU = 1 + 1 + 2  # create (<1 KB), start, finish (the record grows to ~1.5 KB)
DYNAMODB_RRU = 1  # one strongly consistent status read (<4 KB)
RECORD_BYTES = 1500
LOG_BYTES = 6000  # ~12 JSON lines, START/END/REPORT and one EMF document per upload
PAGE_BYTES = 71385  # web/ as deployed (index.html, js, css, icons): one page view per upload
PAGE_REQUESTS = 12
DEFAULT_MEMORY_MB = 1769  # variables.tf processor_memory_mb (issue 26: lowest cost x latency)
# The processor's network stages, from the e2e benchmark: HEAD and GET of the original, the
# outputs' and manifest's PUTs, and the two conditional record updates.
IO_STAGES = ("head", "get", "put", "record")
ENDPOINT_AZS = 2
METRICS_PER_HOUR_ACTIVE = 12  # ImagesProcessed, ImagesRejected (+ a few codes), 10 stage metrics


def load(name: str) -> dict[str, Any]:
    return json.loads((BENCH / name).read_text())


def processor_ms(core_ms: float, e2e: dict[str, Any]) -> float:
    stages = e2e["processor_logs"]["stages_ms_p50"]
    return core_ms + sum(stages[stage] for stage in IO_STAGES)


def output_count(results: dict[str, Any]) -> int:
    """Objects the processor writes per upload: one per size and format (the shipped set)."""
    return len(results["results"]["jpeg_12mp"]["project"]["core"]["outputs"])


def fetched_bytes(results: dict[str, Any]) -> int:
    """What a browser downloads of one upload's outputs: per size only the first format it can
    read (a ``<picture>`` offers them in preference order; a modern browser takes the first)."""
    outputs = results["results"]["jpeg_12mp"]["project"]["core"]["outputs"]
    first: dict[str, int] = {}
    for output in outputs:
        first.setdefault(output["name"], output["bytes"])
    return sum(first.values())


def per_thousand(memory_mb: int, duration_ms: float, arch: str = "x86") -> dict[str, float]:
    """Cost of 1,000 uploads (USD) by part, at a processor memory and duration."""
    results = load("results.json")
    source = results["inputs"]["jpeg_12mp"]["bytes"]
    outputs = results["results"]["jpeg_12mp"]["project"]["core"]["output_bytes"]
    gb = 1024**3
    billed_ms = math.ceil(duration_ms)
    return {
        "processor Lambda (GB-s)": 1000
        * memory_mb
        / 1024
        * billed_ms
        / 1000
        * PRICE[f"lambda_gb_s_{arch}"],
        "API Lambda (GB-s)": 1000
        * API_REQUESTS
        * API_MEMORY_MB
        / 1024
        * API_LAMBDA_MS
        / 1000
        * PRICE[f"lambda_gb_s_{arch}"],
        "Lambda requests": 1000 * (1 + API_REQUESTS) * PRICE["lambda_request"],
        "API Gateway (REST)": 1000 * API_REQUESTS * PRICE["apigw_rest_request"],
        "S3 requests": 1000
        * (
            (S3_PUTS_BESIDE_OUTPUTS + output_count(results)) * PRICE["s3_put"]
            + S3_GETS * PRICE["s3_get"]
        ),
        "S3 storage (originals 30 d, outputs 30 d)": 1000
        * (source * 30 + outputs * 30)
        / DAYS_PER_MONTH
        / gb
        * PRICE["s3_gb_month"],
        "S3 transfer out (variants to the browser)": 1000
        * fetched_bytes(results)
        / gb
        * PRICE["s3_transfer_out_gb"],
        "DynamoDB (on demand + 30 d storage)": 1000
        * (
            DYNAMODB_WRU * PRICE["dynamodb_wru"]
            + DYNAMODB_RRU * PRICE["dynamodb_rru"]
            + RECORD_BYTES * 30 / DAYS_PER_MONTH / gb * PRICE["dynamodb_gb_month"]
        ),
        "CloudFront (the page, one view per upload)": 1000
        * (
            PAGE_BYTES / gb * PRICE["cloudfront_gb"]
            + PAGE_REQUESTS * PRICE["cloudfront_https_request"]
        ),
        "CloudWatch Logs ingestion": 1000 * LOG_BYTES / gb * PRICE["logs_ingest_gb"],
    }


def memory_table() -> list[dict[str, Any]]:
    memory = load("lambda_memory.json")
    e2e = load("e2e.json")
    core = memory["core_ms"]["jpeg_12mp"]
    rows = []
    for key, core_ms in core.items():
        if key == "unlimited":
            continue
        mb = int(key)
        duration = processor_ms(core_ms, e2e)
        gb_s_cost = 1000 * mb / 1024 * math.ceil(duration) / 1000 * PRICE["lambda_gb_s_x86"]
        png = memory["core_ms"].get("png_rgba", {}).get(key)
        rows.append(
            {
                "memory_mb": mb,
                "cpu_share": min(mb / 1769, 2.0),
                "core_ms": core_ms,
                "duration_ms": duration,
                "cost_per_1000": gb_s_cost + 1000 * PRICE["lambda_request"],
                "png_core_ms": png,
            }
        )
    return rows


def idle_monthly() -> dict[str, tuple[float, str]]:
    return {
        "enable_vpc (own VPC)": (
            0.0,
            "VPC, subnets, route table, security groups and the two gateway endpoints are free;"
            " interface endpoints only in the two rows below",
        ),
        "enable_events: the bus, rules, events published": (
            0.0,
            "a bus costs nothing idle; $1.00 per million events (4 outcomes at most per upload)",
        ),
        "enable_events + enable_vpc: EventBridge interface endpoint": (
            ENDPOINT_AZS * HOURS_PER_MONTH * PRICE["interface_endpoint_az_hour"],
            f"{ENDPOINT_AZS} zones x 730 h x $0.01, plus $0.01/GB (docs/events.md)",
        ),
        'image_access = "signed" + enable_vpc (own VPC): SSM interface endpoint': (
            ENDPOINT_AZS * HOURS_PER_MONTH * PRICE["interface_endpoint_az_hour"],
            f"{ENDPOINT_AZS} zones x 730 h x $0.01, plus $0.01/GB;"
            " the API's signing key read (docs/cdn.md)",
        ),
        "event_webhook_url: the connection's secret": (
            PRICE["secrets_manager_secret_month"],
            "EventBridge keeps it in a Secrets Manager secret; $0.20 per million calls",
        ),
        "NAT gateway (what enable_vpc avoids)": (
            HOURS_PER_MONTH * PRICE["nat_gateway_hour"],
            "one zone, 730 h x $0.045, plus $0.045/GB",
        ),
        "enable_alarms: 6 alarms": (6 * PRICE["cw_alarm_month"], "6 x $0.10"),
        "enable_alarms: dashboard": (
            PRICE["cw_dashboard_month"],
            "$3 (free if the account has at most 3 dashboards)",
        ),
        "enable_alarms: EMF metrics, idle": (
            0.0,
            "metrics are billed only for hours they are published",
        ),
        "enable_alarms: EMF metrics, busy every hour": (
            METRICS_PER_HOUR_ACTIVE * PRICE["cw_custom_metric_month"],
            f"{METRICS_PER_HOUR_ACTIVE} metrics x $0.30",
        ),
        "alarm_email": (0.0, "SNS: the first 1,000 emails a month are free"),
        "enable_tracing, idle": (
            0.0,
            "$5 per million traces recorded (first 100,000 a month free)",
        ),
        "WAF (web ACL + 5 rules)": (
            PRICE["waf_web_acl_month"] + 5 * PRICE["waf_rule_month"],
            "$5 + 5 x $1, plus $0.60 per million requests",
        ),
        "kms_key_arn (a customer-managed key)": (PRICE["kms_key_month"], "$1 a key, plus requests"),
    }


ORIGINAL_OPTIONS = {
    "S3 Standard (original_archive_days = null)": ("s3_gb_month", None, None, None),
    "STANDARD_IA after 30 d": (
        "s3_ia_gb_month",
        "s3_ia_transition",
        "s3_ia_retrieval_gb",
        "s3_ia_get",
    ),
    "GLACIER_IR after 30 d (default)": (
        "s3_glacier_ir_gb_month",
        "s3_glacier_ir_transition",
        "s3_glacier_ir_retrieval_gb",
        "s3_glacier_ir_get",
    ),
}


def originals_kept() -> list[dict[str, Any]]:
    """Per 1,000 uploads kept: a month of storage once archived (originals in the option's class,
    outputs always in Standard), the one-time transition, and one reprocessing read of every
    original (tools/reprocess.py after a rule change)."""
    results = load("results.json")
    source = results["inputs"]["jpeg_12mp"]["bytes"]
    outputs = results["results"]["jpeg_12mp"]["project"]["core"]["output_bytes"]
    gb = 1024**3
    rows = []
    for name, (storage, transition, retrieval, get) in ORIGINAL_OPTIONS.items():
        originals = 1000 * source / gb * PRICE[storage]
        read = 1000 * (
            source / gb * (PRICE[retrieval] if retrieval else 0.0)
            + (PRICE[get] if get else PRICE["s3_get"])
        )
        rows.append(
            {
                "option": name,
                "originals_month": originals,
                "outputs_month": 1000 * outputs / gb * PRICE["s3_gb_month"],
                "transition_once": 1000 * PRICE[transition] if transition else 0.0,
                "reprocess_read": read,
            }
        )
    return rows


def money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def main() -> None:
    rows = memory_table()
    default = next(row for row in rows if row["memory_mb"] == DEFAULT_MEMORY_MB)
    reference = next(row for row in rows if row["memory_mb"] == 1024)
    parts = per_thousand(DEFAULT_MEMORY_MB, default["duration_ms"])
    total = sum(parts.values())
    print(f"Prices: {PRICES_AS_OF}.\n")
    print("| part | per 1,000 uploads |\n|---|---:|")
    for name, value in parts.items():
        print(f"| {name} | {money(value)} |")
    print(f"| **total** | **{money(total)}** |\n")
    print(
        "| memory MB | CPU share | core ms (12 MP JPEG) | processor ms (core + I/O) | "
        "processor cost per 1,000 | cost x latency (rel. to 1024) | core ms (6 MP RGBA PNG) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    base = reference["cost_per_1000"] * reference["duration_ms"]
    for row in rows:
        png = row["png_core_ms"]
        print(
            f"| {row['memory_mb']} | {row['cpu_share']:.2f} | {row['core_ms']:.0f} | "
            f"{row['duration_ms']:.0f} | {money(row['cost_per_1000'])} | "
            f"{row['cost_per_1000'] * row['duration_ms'] / base:.2f} | "
            f"{'-' if png is None else f'{png:.0f}'} |"
        )
    print("\n| option | idle per month | how |\n|---|---:|---|")
    for name, (value, how) in idle_monthly().items():
        print(f"| {name} | {money(value)} | {how} |")
    print(
        "\n| originals kept in | originals per month | outputs per month (Standard) | "
        "transition, once | one reprocessing read |\n|---|---:|---:|---:|---:|"
    )
    for row in originals_kept():
        print(
            f"| {row['option']} | {money(row['originals_month'])} | "
            f"{money(row['outputs_month'])} | {money(row['transition_once'])} | "
            f"{money(row['reprocess_read'])} |"
        )


if __name__ == "__main__":
    main()
