#!/usr/bin/with-contenv bashio
# Add-on entry point. The bridge reads /data/options.json itself (src/config/addon-options.ts)
# and asks the Supervisor for the MQTT broker when none is configured (src/config/supervisor.ts).
set -e
bashio::log.info "Starting SARAi Omni Bridge"
exec node /app/bin/sarai.js run
