// Must not compile: agent settings are the worker's; the router carries them as opaque JSON.
#include "worker/agent_settings.h"
