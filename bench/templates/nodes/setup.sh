{#- kiln
output: file
path: bin/setup.sh
-#}
#!/bin/sh
# Idempotent host setup for {{ node.name }} ({{ node.role }}).
set -eu
install -d -m 0755 /etc/rancher/k3s
expected={{ node | to_json | sha256 }}
echo "values digest: $expected"
{%- if node.gpus is defined %}
{%- for gpu in node.gpus %}
echo {{ "GPU " ~ gpu.model ~ " with " ~ gpu.memoryGiB ~ " GiB" }}
{%- endfor %}
{%- endif %}
