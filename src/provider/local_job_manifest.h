// The local provider's record of one job, <swarm_dir>/job.json, written when the workers start so
// that a router started later (a new process) can find them again and recognise exactly these
// processes. Example:
//
//   {"format":"codeswarm.local_job.v1","job_id":"local-s-1a2b3c4d","swarm_id":"s-1a2b3c4d",
//    "boot_id":"6f0d...","started_at":"2026-11-25T01:02:03.456Z",
//    "nodes":[{"node_id":0,"pid":4242,"start_time":1234567}, ...]}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "provider/process_handle.h"

namespace codeswarm::provider {

inline constexpr std::string_view kLocalJobManifestFormat = "codeswarm.local_job.v1";

// A local job is "local-<swarm_id>"; its record is <swarm_dir>/job.json while it may run, renamed
// to job.ended.json when it is terminated.
inline constexpr std::string_view kLocalJobIdPrefix = "local-";
inline constexpr char kLocalJobManifestName[] = "job.json";
inline constexpr char kLocalEndedJobManifestName[] = "job.ended.json";

// Whether `name` (a swarm id) can be one directory's name under the swarms root: not empty, not
// "." or "..", no '/' and no NUL.
bool IsSinglePathComponent(std::string_view name);

struct LocalJobManifest {
  struct Node {
    int node_id = 0;
    ProcessIdentity process;
  };

  std::string job_id;
  std::string swarm_id;
  // The boot the pids and start times belong to.
  std::string boot_id;
  std::string started_at;  // ISO-8601 UTC, for people reading the file
  std::vector<Node> nodes;
};

std::string SerializeLocalJobManifest(const LocalJobManifest& manifest);

// Fails with the path of the first bad field. Unknown fields are allowed (a newer router may add
// some).
Result<LocalJobManifest> ParseLocalJobManifest(std::string_view text);

// Reads and parses `path`. NotFound when the file does not exist.
Result<LocalJobManifest> ReadLocalJobManifest(const std::string& path);

// Replaces `path` with `contents` so that a reader sees the old file or the new one, never a
// part: writes a temporary file beside it (mode 0600), syncs it, renames it over `path`.
Status WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace codeswarm::provider
