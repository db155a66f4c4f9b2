#include "worker/mock_agent.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>

#include "common/subprocess.h"
#include "common/text.h"

namespace codeswarm::worker {

std::string_view TurnStatusName(TurnOutcome::Status status) {
  switch (status) {
    case TurnOutcome::Status::kCompleted: return "completed";
    case TurnOutcome::Status::kFailed: return "failed";
    case TurnOutcome::Status::kInterrupted: return "interrupted";
  }
  return "failed";
}

namespace {

struct Directives {
  std::string fail;  // "", "turn", "crash", "hang"
  std::optional<int> delay_ms;
  std::optional<int> chunks;
  bool orphan = false;
};

// Leaves a process behind the way a tool command can: in a session of its own, its parent gone.
void StartOrphan() {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "setsid sleep 600 &"};
  options.stdout_mode = StdioMode::kNull;
  options.stderr_mode = StdioMode::kNull;
  if (auto shell = Subprocess::Spawn(options); shell.ok()) shell->Wait();
}

Directives ReadDirectives(std::string_view prompt) {
  Directives d;
  std::size_t pos = 0;
  while ((pos = prompt.find("[[mock:", pos)) != std::string_view::npos) {
    std::size_t end = prompt.find("]]", pos);
    if (end == std::string_view::npos) break;
    std::string_view body = prompt.substr(pos + 7, end - pos - 7);
    pos = end + 2;
    if (body == "fail") d.fail = "turn";
    if (body == "crash") d.fail = "crash";
    if (body == "hang") d.fail = "hang";
    if (body == "orphan") d.orphan = true;
    auto number = [&](std::string_view key) -> std::optional<int> {
      if (!StartsWith(body, key)) return std::nullopt;
      auto v = ParseInteger(body.substr(key.size()));
      if (!v || *v < 0 || *v > 1000000) return std::nullopt;
      return static_cast<int>(*v);
    };
    if (auto v = number("delay=")) d.delay_ms = v;
    if (auto v = number("chunks=")) d.chunks = std::max(1, *v);
  }
  return d;
}

std::string Expand(const std::string& tmpl, const TurnRequest& turn, const AgentContext& ctx) {
  std::string out;
  std::size_t i = 0;
  while (i < tmpl.size()) {
    auto replace = [&](std::string_view key, const std::string& value) {
      if (tmpl.compare(i, key.size(), key) != 0) return false;
      out += value;
      i += key.size();
      return true;
    };
    if (replace("{prompt}", turn.prompt) || replace("{node_id}", std::to_string(ctx.node_id)) ||
        replace("{turn}", std::to_string(turn.turn_index)) ||
        replace("{system_prompt}", ctx.system_prompt)) {
      continue;
    }
    out += tmpl[i++];
  }
  return out;
}

[[noreturn]] void Crash() {
  // A real crash, as a dying agent host would: no cleanup, no bye. No core file, though.
  rlimit none{0, 0};
  setrlimit(RLIMIT_CORE, &none);
  std::abort();
}

}  // namespace

std::vector<std::string> SplitIntoChunks(const std::string& text, int n) {
  std::vector<std::string> chunks;
  if (text.empty() || n <= 0) return chunks;
  std::size_t target = std::max<std::size_t>(1, (text.size() + n - 1) / static_cast<std::size_t>(n));
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(text.size(), start + target);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    chunks.push_back(text.substr(start, end - start));
    start = end;
  }
  return chunks;
}

int64_t CountWords(std::string_view text) {
  int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

MockAgent::MockAgent(MockAgentSettings settings) : settings_(std::move(settings)) {}

Status MockAgent::Start(const AgentContext& context) {
  context_ = context;
  return Status::Ok();
}

bool MockAgent::Sleep(int ms) {
  std::unique_lock lock(mu_);
  if (ms > 0) cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return interrupted_; });
  return !interrupted_;
}

void MockAgent::Interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  cv_.notify_all();
}

TurnOutcome MockAgent::RunTurn(const TurnRequest& turn, TurnSink& sink) {
  {
    std::lock_guard lock(mu_);
    interrupted_ = false;
  }
  Directives directives = ReadDirectives(turn.prompt);
  std::string fail = directives.fail.empty() ? settings_.fail : directives.fail;
  int delay = directives.delay_ms.value_or(settings_.chunk_delay_ms);
  int chunk_count = directives.chunks.value_or(settings_.chunks);
  std::string reply = Expand(settings_.reply, turn, context_);
  std::vector<std::string> chunks = SplitIntoChunks(reply, chunk_count);
  if (directives.orphan) StartOrphan();

  int sent = 0;
  for (const std::string& chunk : chunks) {
    if (fail != "none" && fail != "hang" && sent == settings_.fail_after_chunks) {
      if (fail == "crash") Crash();
      return TurnOutcome::Failed("mock agent failure requested");
    }
    if (!Sleep(delay)) return TurnOutcome::Interrupted("interrupted");  // Sleep(0) just checks
    sink.Delta(chunk);
    ++sent;
  }
  if (fail == "crash") Crash();
  if (fail == "turn") return TurnOutcome::Failed("mock agent failure requested");
  if (fail == "hang") {
    while (Sleep(60000)) {
    }
    return TurnOutcome::Interrupted("interrupted");
  }
  sink.Message(reply);
  TokenUsage usage;
  usage.input_tokens = CountWords(turn.prompt) + CountWords(context_.system_prompt);
  usage.output_tokens = CountWords(reply);
  usage.total_tokens = usage.input_tokens + usage.output_tokens;
  sink.Usage(usage);
  return TurnOutcome::Completed();
}

}  // namespace codeswarm::worker
