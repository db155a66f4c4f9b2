// Must not compile: the router sees the provider interface, never a backend.
#include "provider/slurm_provider.h"
