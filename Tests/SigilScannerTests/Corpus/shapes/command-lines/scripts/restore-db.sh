#!/usr/bin/env bash
# Restores last night's dumps into the staging databases. Run on bastion-02 as ops.
set -euo pipefail
DAY=$(date -u -d yesterday +%F)

# PostgreSQL: the password comes from ~/.pgpass; port 6432 is pgbouncer.
pg_restore -h pg-staging.internal -p 6432 -U orders -d orders --clean /backups/pg/orders-"$DAY".dump
psql -h pg-staging.internal -p 5432 -U postgres -c "ALTER ROLE reporting PASSWORD NULL"

# MongoDB
mongorestore --host mongo-staging.internal --username restore --password ⟦generic-password⟧ --authenticationDatabase admin --drop /backups/mongo/"$DAY"
mongosh "mongodb://mongo-staging.internal:27017/catalog" --username restore --password --eval 'db.stats()'

# SQL Server (the legacy ERP)
sqlcmd -S erp-staging.internal,1433 -U sa -P ⟦generic-password⟧ -Q "RESTORE DATABASE ERP FROM DISK = N'/backups/mssql/ERP-$DAY.bak' WITH REPLACE"
sqlcmd -S erp-staging.internal,1433 -U sa -P "$SQLCMDPASSWORD" -Q "SELECT @@VERSION"

# MySQL for the shop
mysqldump --single-transaction -h shop-db.internal -u backup --password=⟦generic-password⟧ shop > /tmp/shop.sql
mysql -h shop-staging.internal -uroot -p"$(cat /run/secrets/mysql-root)" shop < /tmp/shop.sql

# Refresh the Java keystore of the ERP connector.
openssl pkcs12 -export -in erp-client.crt -inkey erp-client.key -name erp-client -out erp-client.p12 -passout pass:⟦generic-password⟧
openssl pkcs12 -export -in erp-client.crt -inkey erp-client.key -out erp-client-ci.p12 -passout env:P12_PASSWORD
keytool -importkeystore -srckeystore erp-client.p12 -srcstoretype PKCS12 -srcstorepass:env P12_PASSWORD -destkeystore erp.jks -deststorepass ⟦generic-password⟧
keytool -list -keystore erp.jks -storepass:file /run/secrets/jks-pass

# LDAP: check the service account still binds.
ldapsearch -x -H ldaps://ldap.acme-corp.io -D "cn=erp-connector,ou=services,dc=acme-corp,dc=io" -w ⟦generic-password⟧ -b "dc=acme-corp,dc=io" "(uid=erp-connector)" dn
ldapsearch -x -H ldaps://ldap.acme-corp.io -D "cn=erp-connector,ou=services,dc=acme-corp,dc=io" -W -b "dc=acme-corp,dc=io" "(uid=erp-connector)" dn

# Kubernetes secrets for the staging namespace.
kubectl -n orders-staging create secret generic orders-db --from-literal=username=orders --from-literal=password=⟦generic-password⟧ --dry-run=client -o yaml | kubectl apply -f -
kubectl -n orders-staging create secret generic orders-api --from-file=api-key=./secrets/api-key.txt --dry-run=client -o yaml | kubectl apply -f -
kubectl -n orders-staging create secret docker-registry acme-registry --docker-server=registry.acme-corp.io --docker-username=ci --docker-password=⟦generic-password⟧
kubectl -n orders-staging create secret docker-registry ghcr --docker-server=ghcr.io --docker-username=acme-ci --docker-password="$(cat ~/.config/ghcr-token)"
kubectl -n orders-staging port-forward svc/pg-staging 5432:5432 &

# Artifact download for the smoke tests.
wget --user=ci --password=⟦generic-password⟧ https://nexus.acme-corp.io/repository/releases/acme/erp-connector/4.1.0/erp-connector-4.1.0.jar
wget --user=ci --ask-password https://nexus.acme-corp.io/repository/releases/acme/erp-connector/4.1.0/erp-connector-4.1.0.pom
curl -fsS -u ci:⟦generic-password⟧ -o /tmp/fixtures.tgz https://nexus.acme-corp.io/repository/raw/fixtures/staging.tgz
curl -fsS --user "$NEXUS_USER:$NEXUS_PASSWORD" -o /tmp/fixtures-ci.tgz https://nexus.acme-corp.io/repository/raw/fixtures/ci.tgz
curl -fsS -u admin https://grafana.acme-corp.io/api/health
read -r -s -p "Password for erp-connector: " ERP_PASSWORD
