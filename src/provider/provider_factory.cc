#include "provider/provider_factory.h"

#include <array>

#include "provider/local_provider.h"
#include "provider/slurm_provider.h"

namespace codeswarm::provider {

namespace {

// Every backend MakeProvider can build, in the order error messages list them.
constexpr std::array<std::string_view, 2> kKnownBackends = {"local", "slurm"};

}  // namespace

Result<std::unique_ptr<ClusterProvider>> MakeProvider(const Config& config) {
  const std::string& backend = config.cluster.backend;
  if (backend == "local") {
    Result<std::unique_ptr<LocalProvider>> local = LocalProvider::Create(config);
    if (!local.ok()) return local.status();
    return std::unique_ptr<ClusterProvider>(std::move(*local));
  }
  if (backend == "slurm") {
    Result<std::unique_ptr<SlurmProvider>> slurm = SlurmProvider::Create(config);
    if (!slurm.ok()) return slurm.status();
    return std::unique_ptr<ClusterProvider>(std::move(*slurm));
  }
  std::string known;
  for (std::string_view name : kKnownBackends) {
    known += (known.empty() ? "" : ", ") + std::string(name);
  }
  return Status::InvalidArgument("unknown cluster backend \"" + backend + "\" (known: " + known +
                                 ")");
}

}  // namespace codeswarm::provider
