# pinlet: node-local CPU / memory / NUMA manager for Kubernetes pods.
#
# Runs next to the kubelet on every node (a privileged DaemonSet): it reads the host's sysfs
# and keeps its socket and checkpoint in the kubelet's directory, so mount both:
#
#   docker build -t pinlet .
#   docker run --rm --privileged \
#       -v /sys:/host/sys:ro -v /var/lib/kubelet/pinlet:/var/lib/kubelet/pinlet \
#       pinlet serve --sysfs-root /host/sys
#
# The socket is /var/lib/kubelet/pinlet/pinlet.sock (mode 0600); SIGTERM stops it gracefully.
FROM python:3.11-slim

WORKDIR /src
COPY pyproject.toml README.md ./
COPY server ./server
COPY client ./client
RUN pip install --no-cache-dir . && rm -rf /src

WORKDIR /
VOLUME ["/var/lib/kubelet/pinlet"]
ENTRYPOINT ["pinlet"]
CMD ["serve", "--sysfs-root", "/host/sys"]
