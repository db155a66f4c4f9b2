// Must not compile: the relay carries bytes and knows no protocol (docs/ARCHITECTURE.md).
#include "protocol/worker_protocol.h"
