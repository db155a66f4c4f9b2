// The provider factory: the one place that knows every backend. main hands it to the router as
// its ProviderFactory.
#pragma once

#include <memory>

#include "common/config.h"
#include "common/status.h"
#include "provider/cluster_provider.h"

namespace codeswarm::provider {

// Builds the provider named by config.cluster.backend, or says which backends exist.
Result<std::unique_ptr<ClusterProvider>> MakeProvider(const Config& config);

}  // namespace codeswarm::provider
