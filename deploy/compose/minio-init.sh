#!/bin/sh
# The bucket-init job of compose.yaml (runs in the minio/mc image once MinIO is healthy;
# the lakeflight services wait for it to finish). Idempotent: every `docker compose up`
# runs it again.
#   - the warehouse bucket ($BUCKET)
#   - lakeflight's own account, allowed that bucket only (not the root account)
set -eu

: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${BUCKET:?}"
: "${ACCOUNT_ACCESS_KEY:?}" "${ACCOUNT_SECRET_KEY:?}"

mc alias set stack http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "stack/$BUCKET"

policy=/tmp/lakeflight-bucket.json
cat >"$policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                 "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$BUCKET/*"]
    }
  ]
}
JSON
mc admin policy create stack lakeflight-bucket "$policy"
# user add also resets the secret when the account exists (a changed .env takes effect).
mc admin user add stack "$ACCOUNT_ACCESS_KEY" "$ACCOUNT_SECRET_KEY"
if ! mc admin user info stack "$ACCOUNT_ACCESS_KEY" | grep -q 'lakeflight-bucket'; then
  mc admin policy attach stack lakeflight-bucket --user "$ACCOUNT_ACCESS_KEY"
fi
echo "bucket $BUCKET ready for $ACCOUNT_ACCESS_KEY"
