#!/bin/sh
# The provision one-shot of compose.yaml (project image, logged in as admin by its KAFKA_*
# environment): every principal's SCRAM login, the topics and the grants, then one password
# file per service and department principal in the kafka-passwords volume.
set -eu

credentials=/var/lib/assist-provision/credentials.json
passwords=/run/kafka-passwords

# credentials.json is principal -> password. The administrator's is the Compose secret, not one
# for provision to make up: record it first, so the file tells the truth about every login.
python - "$credentials" "$KAFKA_SASL_PASSWORD_FILE" <<'EOF'
import json, os, sys

path, secret_file = sys.argv[1], sys.argv[2]
with open(secret_file) as f:
    secret = f.read().strip()
try:
    with open(path) as f:
        known = json.load(f)
except FileNotFoundError:
    known = {}
if known.get("admin") != secret:
    known["admin"] = secret
    fresh = path + ".new"
    if os.path.exists(fresh):
        os.unlink(fresh)
    with os.fdopen(os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        json.dump(known, out, indent=2, sort_keys=True)
        out.write("\n")
    os.replace(fresh, path)
EOF

python -m deploy.kafka.provision --credentials "$credentials" --password-dir "$passwords"
# No container needs the administrator's password from this volume: the brokers and this
# step read the Compose secret.
rm -f "$passwords/admin.password"
