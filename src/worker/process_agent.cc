#include "worker/process_agent.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace codeswarm::worker {
namespace json = boost::json;

namespace {

using std::chrono::milliseconds;

// One stdout line as a JSON object; nullopt (logged) for anything else: the agents print the
// odd line of their own.
std::optional<json::object> ParseLine(const std::string& name, const std::string& line) {
  json::error_code ec;
  json::value value = json::parse(line, ec);
  if (ec || !value.is_object()) {
    spdlog::debug("{} wrote a line that is not a JSON object: {}", name, line.substr(0, 200));
    return std::nullopt;
  }
  return std::move(value.get_object());
}

// "10 s", or "300 ms" for a duration that is not whole seconds.
std::string DescribeDuration(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

ProcessAgent::ProcessAgent(Options options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

ProcessAgent::~ProcessAgent() { Stop(); }

Status ProcessAgent::Start(const AgentContext& context) {
  std::string dir = context.work_dir.empty() ? "." : context.work_dir;
  Result<std::unique_ptr<AgentProcess>> started = AgentProcess::Start(
      MakeSpawnOptions(context, dir + "/" + options_.name + ".stderr.log"), options_.name, clock_);
  if (!started.ok()) {
    Status failed = started.status();
    if (failed.IsNotFound()) {
      failed = Status::NotFound(failed.message() + " (see agent." + options_.name + ".binary)");
    }
    gone_ = failed.message();
    return failed;
  }
  process_ = std::move(*started);
  Status ready = Handshake(context, clock_.Now() + options_.handshake_timeout);
  if (!ready.ok()) {
    // Every later turn fails with the reason Start gave.
    gone_ = ready.message();
    process_->Stop(milliseconds(0));
  }
  return ready;
}

Status ProcessAgent::Send(std::string_view line) {
  Status sent = process_->WriteLine(line);
  if (!sent.ok() && gone_.empty()) gone_ = process_->DescribeExit();
  return sent;
}

TurnOutcome ProcessAgent::ProcessGone() {
  if (gone_.empty()) gone_ = process_->DescribeExit();
  return TurnOutcome::Failed(gone_);
}

Status ProcessAgent::Await(std::string_view what, SteadyTime deadline,
                           const AwaitHandler& on_message) {
  while (true) {
    AgentProcess::Event event = process_->Next(deadline);
    switch (event.kind) {
      case AgentProcess::Event::Kind::kWakeup:
        continue;
      case AgentProcess::Event::Kind::kExited:
        return Status::Unavailable(ProcessGone().error);
      case AgentProcess::Event::Kind::kTimeout: {
        process_->Kill();
        gone_ = options_.name + " did not answer " + std::string(what) + " within " +
                DescribeDuration(options_.handshake_timeout) + " and was killed";
        std::string tail = StderrTail(process_->stderr_path());
        if (!tail.empty()) gone_ += "; last stderr: " + tail;
        return Status::Timeout(gone_);
      }
      case AgentProcess::Event::Kind::kLine:
        break;
    }
    std::optional<json::object> message = ParseLine(options_.name, event.line);
    if (!message) continue;
    if (std::optional<Status> answered = on_message(*message)) return *answered;
  }
}

TurnOutcome ProcessAgent::RunTurn(const TurnRequest& request, TurnSink& sink) {
  interrupt_requested_ = false;
  if (!gone_.empty()) return TurnOutcome::Failed(gone_);
  std::unique_ptr<Turn> turn = NewTurn(request, sink);
  if (!turn->Begin().ok()) return ProcessGone();
  bool interrupt_sent = false;
  std::optional<SteadyTime> deadline;  // set once an interrupt was requested
  while (true) {
    if (interrupt_requested_ && !deadline) deadline = clock_.Now() + options_.interrupt_grace;
    if (deadline && !interrupt_sent && turn->CanInterrupt()) {
      interrupt_sent = true;
      if (!turn->SendInterrupt().ok()) return ProcessGone();
    }
    AgentProcess::Event event = process_->Next(deadline);
    switch (event.kind) {
      case AgentProcess::Event::Kind::kWakeup:
        continue;
      case AgentProcess::Event::Kind::kExited:
        return ProcessGone();
      case AgentProcess::Event::Kind::kTimeout:
        process_->Kill();
        gone_ = options_.name + " did not end the interrupted turn within " +
                DescribeDuration(options_.interrupt_grace) + "; it was killed";
        return TurnOutcome::Interrupted(gone_);
      case AgentProcess::Event::Kind::kLine:
        break;
    }
    std::optional<json::object> message = ParseLine(options_.name, event.line);
    if (!message) continue;
    if (std::optional<TurnOutcome> ended = turn->OnMessage(*message)) return *ended;
  }
}

void ProcessAgent::Interrupt() {
  interrupt_requested_ = true;
  if (process_) process_->Wake();
}

void ProcessAgent::Stop() {
  if (process_) process_->Stop(options_.stop_grace);
}

}  // namespace codeswarm::worker
