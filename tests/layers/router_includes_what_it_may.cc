// Must compile with the router's include path: its own headers, the provider interface, the
// protocol and common.
#include "common/config.h"
#include "protocol/client_protocol.h"
#include "provider/cluster_provider.h"
#include "router/router_core.h"
