// Must not compile: common is the bottom layer.
#include "protocol/client_protocol.h"
