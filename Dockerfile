# pinlet: node-local CPU / memory / NUMA manager for Kubernetes pods.
#
# Runs against the host's sysfs (and, later, its cgroups), so it is meant to run privileged with
# the host's /sys mounted, e.g. as a DaemonSet:
#   docker build -t pinlet .
#   docker run --rm -v /sys:/host/sys:ro pinlet topology --sysfs-root /host/sys
FROM python:3.11-slim

WORKDIR /src
COPY pyproject.toml README.md ./
COPY server ./server
COPY client ./client
RUN pip install --no-cache-dir . && rm -rf /src

WORKDIR /
ENTRYPOINT ["pinlet"]
CMD ["topology"]
