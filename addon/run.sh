#!/usr/bin/with-contenv bashio
# Add-on entry point. The bridge reads /data/options.json itself (src/config/addon-options.ts)
# and asks the Supervisor for the MQTT broker when none is configured (src/config/supervisor.ts).
set -euo pipefail
bashio::log.info "Starting SARAi Omni Bridge $(bashio::addon.version)"
if bashio::config.has_value 'models_dir'; then
  # a folder under /share is not created by the Supervisor
  mkdir -p "$(bashio::config 'models_dir')"
fi
cd /app
exec node /app/bin/sarai.js run
