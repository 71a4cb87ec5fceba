#!/bin/sh
# Entry point of each Kafka node of compose.yaml, run before the apache/kafka image's own
# /etc/kafka/docker/run. It does what the image cannot do from environment variables alone:
#
# 1. Secrets into the configuration, without writing them into compose.yaml (where
#    `docker inspect` would show them): the administrator's password (Compose secret
#    kafka_admin_password) into each listener's JAAS configuration, the keystore's password
#    (tls/kafkaN/keystore.password) into ssl.keystore.password. Both as KAFKA_* variables,
#    which the image turns into server.properties like every other one.
# 2. The first time only, format the storage with the administrator's SCRAM credential
#    (kafka-storage.sh format --add-scram). Brokers log in to each other with it, so it must
#    exist before any broker runs; the image formats from CLUSTER_ID with no way to pass
#    --add-scram. Its own format then finds the storage formatted and goes on, as it does
#    at every restart.
#
# It also writes /opt/kafka/config/admin.properties (mode 0600): the administrator's client
# settings, for the health check and for the Kafka tools run inside the container.
set -eu

secrets=/etc/kafka/secrets

# One line of a file; only characters that need no quoting in JAAS, properties or --add-scram.
secret() {
    [ -r "$1" ] || { echo "kafka-node: cannot read $1" >&2; exit 1; }
    value=$(head -n 1 "$1" | tr -d '\r')
    case $value in
        '' | *[!A-Za-z0-9+/=_.-]*)
            echo "kafka-node: $1 must hold one line of letters, digits and + / = _ . - only" >&2
            exit 1 ;;
    esac
    printf '%s' "$value"
}

admin=$(secret /run/secrets/kafka_admin_password)
store=$(secret "$secrets/keystore.password")

scram_login="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$admin\";"
# Controller listener: PLAIN against this static user (a controller cannot check SCRAM, whose
# credentials live in the metadata it serves); its own login, as a client, is the same user.
export KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$admin\" user_admin=\"$admin\";"
# INTERNAL carries inter-broker traffic: its login is the broker's own, as admin.
export KAFKA_LISTENER_NAME_INTERNAL_SCRAM___SHA___512_SASL_JAAS_CONFIG="$scram_login"
export KAFKA_LISTENER_NAME_HOST_SCRAM___SHA___512_SASL_JAAS_CONFIG="org.apache.kafka.common.security.scram.ScramLoginModule required;"
export KAFKA_SSL_KEYSTORE_PASSWORD="$store"
export KAFKA_SSL_KEY_PASSWORD="$store"

(
    umask 077
    cat >/opt/kafka/config/admin.properties <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$scram_login
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/ca.pem
EOF
)

data=${KAFKA_LOG_DIRS:?KAFKA_LOG_DIRS is not set}
if [ ! -e "$data/meta.properties" ]; then
    # Formatting reads only the node id, roles, quorum and log directory; the listeners below
    # just make a valid configuration. The image writes the real one afterwards.
    format=$(mktemp)
    cat >"$format" <<EOF
process.roles=${KAFKA_PROCESS_ROLES:?}
node.id=${KAFKA_NODE_ID:?}
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS:?}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
EOF
    # Its output lists the bootstrap records, the SCRAM credential's keys among them: errors
    # (stderr) only, then.
    /opt/kafka/bin/kafka-storage.sh format --cluster-id "${CLUSTER_ID:?}" --config "$format" \
        --add-scram "SCRAM-SHA-512=[name=admin,password=$admin]" >/dev/null
    rm -f "$format"
    echo "kafka-node: storage formatted for cluster $CLUSTER_ID, with the administrator's SCRAM login"
fi

exec /etc/kafka/docker/run "$@"
