"""The two functions' environments as the unit tests set them (fake buckets, default rules)."""

from __future__ import annotations

UPLOAD_BUCKET = "sip-uploads-test"
OUTPUT_BUCKET = "sip-output-test"
REGION = "us-east-1"
ALLOWED_ORIGIN = "https://app.example.com"
VARIANTS_JSON = (
    '[{"name": "large", "max_edge": 1024, "format": "jpeg", "quality": 85},'
    ' {"name": "medium", "max_edge": 512, "format": "jpeg", "quality": 85},'
    ' {"name": "thumb", "max_edge": 128, "format": "webp", "quality": 80}]'
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
}
PROCESSOR_ENV = {
    "OUTPUT_BUCKET": OUTPUT_BUCKET,
    "UPLOAD_PREFIX": "uploads/",
    "MAX_UPLOAD_BYTES": "20971520",
    "MAX_PIXELS": "40000000",
    "ALLOWED_FORMATS": "JPEG,PNG,WEBP,GIF",
    "VARIANTS": VARIANTS_JSON,
    "LOG_LEVEL": "INFO",
}
