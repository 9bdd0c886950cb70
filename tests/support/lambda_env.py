"""The two functions' environments as the unit tests set them (fake buckets, default rules)."""

from __future__ import annotations

UPLOAD_BUCKET = "sip-uploads-test"
OUTPUT_BUCKET = "sip-output-test"
UPLOADS_TABLE = "sip-uploads-test"
QUOTA_TABLE = "sip-quotas-test"  # sign-in only: daily quotas and revocation times
REGION = "us-east-1"
ALLOWED_ORIGIN = "https://app.example.com"
VARIANTS_JSON = (
    '[{"name": "large", "max_edge": 1024, "formats": [{"format": "jpeg", "quality": 85}]},'
    ' {"name": "medium", "max_edge": 512, "formats": [{"format": "jpeg"}]},'
    ' {"name": "thumb", "max_edge": 128, "formats": [{"format": "webp"}, {"format": "jpeg"}]}]'
)
API_ENV = {
    "UPLOAD_BUCKET": UPLOAD_BUCKET,
    "OUTPUT_BUCKET": OUTPUT_BUCKET,
    "UPLOAD_PREFIX": "uploads/",
    "ALLOWED_CONTENT_TYPES": "image/jpeg,image/png,image/webp,image/gif",
    "MAX_UPLOAD_BYTES": "20971520",
    "UPLOAD_URL_TTL_SECONDS": "60",
    "DOWNLOAD_URL_TTL_SECONDS": "300",
    "ALLOWED_ORIGINS": ALLOWED_ORIGIN,
    "LOG_LEVEL": "INFO",
    "UPLOADS_TABLE": UPLOADS_TABLE,
    "RECORD_RETENTION_DAYS": "30",
}
PROCESSOR_ENV = {
    "OUTPUT_BUCKET": OUTPUT_BUCKET,
    "UPLOAD_PREFIX": "uploads/",
    "MAX_UPLOAD_BYTES": "20971520",
    "MAX_PIXELS": "40000000",
    "ALLOWED_FORMATS": "JPEG,PNG,WEBP,GIF",
    "VARIANTS": VARIANTS_JSON,
    "LOG_LEVEL": "INFO",
    "UPLOADS_TABLE": UPLOADS_TABLE,
    "RECORD_RETENTION_DAYS": "30",
}


def create_uploads_table(client: object, name: str = UPLOADS_TABLE) -> None:
    """The table modules/uploads_table creates, on a (moto) DynamoDB client."""
    client.create_table(  # type: ignore[attr-defined]
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("id", "owner", "createdAt")
        ],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byOwner",
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def create_quota_table(client: object, name: str = QUOTA_TABLE) -> None:
    """The quota table sign-in always has (modules/uploads_table), on a (moto) DynamoDB client:
    daily quota counters and each user's revocation time, one item per id."""
    client.create_table(  # type: ignore[attr-defined]
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
