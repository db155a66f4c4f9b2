#include "provider/local_job_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/json_reader.h"

namespace codeswarm::provider {

namespace json = boost::json;

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

void ReadNode(const json::value& value, const std::string& path, JsonErrors* errors,
              LocalJobManifest::Node* node) {
  if (!value.is_object()) {
    errors->Add(path + ": expected an object, got " + DescribeJsonValue(value));
    return;
  }
  JsonObjectReader r(value.get_object(), path, errors);
  int64_t pid = 0;
  int64_t start_time = 0;
  if (r.Require("node_id")) r.Int("node_id", 0, std::numeric_limits<int>::max(), &node->node_id);
  if (r.Require("pid")) r.Int("pid", 1, std::numeric_limits<pid_t>::max(), &pid);
  if (r.Require("start_time")) {
    r.Int("start_time", 0, std::numeric_limits<int64_t>::max(), &start_time);
  }
  node->process = ProcessIdentity{static_cast<pid_t>(pid), static_cast<uint64_t>(start_time)};
}

}  // namespace

std::string SerializeLocalJobManifest(const LocalJobManifest& manifest) {
  json::array nodes;
  for (const LocalJobManifest::Node& node : manifest.nodes) {
    nodes.push_back(json::object{{"node_id", node.node_id},
                                 {"pid", node.process.pid},
                                 {"start_time", node.process.start_time}});
  }
  json::object root{{"format", kLocalJobManifestFormat}, {"job_id", manifest.job_id},
                    {"swarm_id", manifest.swarm_id},     {"boot_id", manifest.boot_id},
                    {"started_at", manifest.started_at}, {"nodes", std::move(nodes)}};
  return json::serialize(root) + "\n";
}

Result<LocalJobManifest> ParseLocalJobManifest(std::string_view text) {
  Result<json::object> root = ParseJsonObject(text);
  if (!root.ok()) return root.status();
  JsonErrors errors;
  JsonObjectReader r(*root, "", &errors);
  LocalJobManifest manifest;
  std::string format;
  if (r.Require("format") && r.String("format", &format) && format != kLocalJobManifestFormat) {
    r.Error("format",
            "expected \"" + std::string(kLocalJobManifestFormat) + "\", got \"" + format + "\"");
  }
  if (r.Require("job_id")) r.NonEmptyString("job_id", &manifest.job_id);
  if (r.Require("swarm_id")) r.NonEmptyString("swarm_id", &manifest.swarm_id);
  if (r.Require("boot_id")) r.NonEmptyString("boot_id", &manifest.boot_id);
  r.String("started_at", &manifest.started_at);
  if (r.Require("nodes")) {
    const json::value* nodes = r.Raw("nodes");
    if (!nodes->is_array()) {
      r.Error("nodes", "expected an array, got " + DescribeJsonValue(*nodes));
    } else {
      for (std::size_t i = 0; i < nodes->get_array().size(); ++i) {
        ReadNode(nodes->get_array()[i], "nodes[" + std::to_string(i) + "]", &errors,
                 &manifest.nodes.emplace_back());
      }
    }
  }
  // No Finish(): fields added by a newer router are not an error.
  if (!errors.empty()) return errors.ToStatus();
  return manifest;
}

Result<LocalJobManifest> ReadLocalJobManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(path + " does not exist");
    return Status::IoError("cannot read " + path + ": " + ErrnoText(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  Result<LocalJobManifest> manifest = ParseLocalJobManifest(text.str());
  if (!manifest.ok()) return manifest.status().WithPrefix(path);
  return manifest;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create " + temp + ": " + ErrnoText(errno));
  std::size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    written += static_cast<std::size_t>(n);
  }
  // Synced before the rename, so a crash cannot leave an empty file under the final name.
  bool ok = written == contents.size() && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (ok && ::rename(temp.c_str(), path.c_str()) == 0) return Status::Ok();
  err = ok ? errno : err;
  ::unlink(temp.c_str());
  return Status::IoError("cannot write " + path + ": " + ErrnoText(err));
}

bool IsSinglePathComponent(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

}  // namespace codeswarm::provider
