#!/usr/bin/env bash
# Build the connectors jar (connectors/pom.xml): the Flink formats and connectors the job needs
# beyond PyFlink's own lib/, shaded into one jar. make calls this when the jar is missing or the
# pom changed; Maven caches its downloads in ~/.m2, so a rebuild is offline and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ] || missing+=("Java 17 (e.g. 'apt-get install openjdk-17-jdk-headless')")
command -v mvn >/dev/null 2>&1 || missing+=("Maven 3.8+ (e.g. 'apt-get install maven')")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'WardWatch builds its connectors jar with Maven and needs: %s\n' "${missing[@]}" >&2
  exit 2
fi
echo "Building connectors/target/wardwatch-connectors.jar with Maven (first time: downloads ~70 MB into ~/.m2) …"
mvn -q -B -f connectors/pom.xml package -DskipTests
cp connectors/target/wardwatch-connectors-1.0.0.jar connectors/target/wardwatch-connectors.jar
