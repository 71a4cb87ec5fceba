#!/bin/sh
# make-certs.sh [DIR]: the TLS material of deploy/cluster/compose.yaml, made with openssl alone.
#
#   DIR/ca.key                      the private CA's key: keep it offline, it can sign brokers
#   DIR/ca.pem                      the CA's certificate: what every client trusts the brokers by
#   DIR/kafkaN/kafka.keystore.p12   node N's key and certificate chain (PKCS12)
#   DIR/kafkaN/keystore.password    the keystore's password (random)
#   DIR/kafkaN/ca.pem               the brokers' trust store (PEM): the same CA
#
# DIR defaults to tls/ beside this script. Each broker certificate names kafkaN and localhost;
# EXTRA_SANS adds names to all three (e.g. EXTRA_SANS=DNS:kafka.example.org,IP:10.0.0.5).
# Re-running keeps what exists: delete kafkaN/ to renew that node's certificate, or the whole
# DIR to start over with a new CA (then every client needs the new ca.pem).
set -eu

dir=${1:-$(dirname "$0")/tls}
days=${DAYS:-825} # broker certificates; the CA lasts ten years
umask 077
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

if [ ! -e "$dir/ca.key" ]; then
    openssl req -x509 -new -newkey rsa:3072 -nodes -sha256 -days 3650 \
        -subj "/CN=assist-chain Kafka CA" -config "$tmp/openssl.cnf" -extensions ca \
        -keyout "$dir/ca.key" -out "$dir/ca.pem"
fi

for node in kafka1 kafka2 kafka3; do
    [ -e "$dir/$node/kafka.keystore.p12" ] && continue
    mkdir -p "$dir/$node"
    openssl req -new -newkey rsa:3072 -nodes -sha256 -subj "/CN=$node" \
        -config "$tmp/openssl.cnf" -keyout "$tmp/$node.key" -out "$tmp/$node.csr"
    cat >"$tmp/$node.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:$node, DNS:localhost${EXTRA_SANS:+, $EXTRA_SANS}
authorityKeyIdentifier = keyid
EOF
    openssl x509 -req -sha256 -days "$days" -in "$tmp/$node.csr" -extfile "$tmp/$node.ext" \
        -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
        -out "$tmp/$node.pem"
    openssl verify -CAfile "$dir/ca.pem" "$tmp/$node.pem" >/dev/null
    openssl rand -hex 24 >"$dir/$node/keystore.password"
    openssl pkcs12 -export -name "$node" -inkey "$tmp/$node.key" -in "$tmp/$node.pem" \
        -certfile "$dir/ca.pem" -passout "file:$dir/$node/keystore.password" \
        -out "$dir/$node/kafka.keystore.p12"
    cp "$dir/ca.pem" "$dir/$node/ca.pem"
done

# The Kafka containers (uid 1000) read their node's directory through a bind mount, and the
# services read ca.pem: those are world-readable, and DIR itself (0700) keeps other users of
# this machine out. The CA key stays 0600.
chmod 0700 "$dir"
chmod 0600 "$dir/ca.key"
chmod 0644 "$dir/ca.pem"
for node in kafka1 kafka2 kafka3; do
    chmod 0755 "$dir/$node"
    chmod 0644 "$dir/$node"/*
done
echo "CA: $dir/ca.pem; brokers: $dir/kafka1 $dir/kafka2 $dir/kafka3"
