// Must not compile: the command line is a client of the protocol; main wires the router in.
#include "router/router_core.h"
