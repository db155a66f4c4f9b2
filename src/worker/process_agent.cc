#include "worker/process_agent.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace codeswarm::worker {
namespace json = boost::json;

namespace {

using std::chrono::milliseconds;
using Kind = AgentProcess::Event::Kind;

// "10 s", or "300 ms" for a duration that is not whole seconds.
std::string DescribeDuration(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

// --- AgentChannel

AgentChannel::AgentChannel(std::unique_ptr<AgentProcess> process, std::string name,
                           milliseconds handshake_timeout)
    : process_(std::move(process)), name_(std::move(name)), handshake_timeout_(handshake_timeout) {}

Status AgentChannel::Send(std::string_view line) {
  Status sent = process_->WriteLine(line);
  if (!sent.ok() && gone_.empty()) gone_ = process_->DescribeExit();
  return sent;
}

TurnOutcome AgentChannel::ProcessGone() {
  if (gone_.empty()) gone_ = process_->DescribeExit();
  return TurnOutcome::Failed(gone_);
}

AgentProcess::Event AgentChannel::Next(std::optional<SteadyTime> deadline, json::object* message) {
  while (true) {
    AgentProcess::Event event = process_->Next(deadline);
    if (event.kind != Kind::kLine) return event;
    // The agents print the odd line of their own.
    json::error_code ec;
    json::value value = json::parse(event.line, ec);
    if (!ec && value.is_object()) {
      *message = std::move(value.get_object());
      return event;
    }
    spdlog::debug("{} wrote a line that is not a JSON object: {}", name_,
                  event.line.substr(0, 200));
  }
}

Status AgentChannel::Await(std::string_view what, SteadyTime deadline,
                           const AwaitHandler& on_message) {
  json::object message;
  while (true) {
    switch (Next(deadline, &message).kind) {
      case Kind::kWakeup:
        continue;
      case Kind::kExited:
        return Status::Unavailable(ProcessGone().error);
      case Kind::kTimeout: {
        process_->Kill();
        gone_ = name_ + " did not answer " + std::string(what) + " within " +
                DescribeDuration(handshake_timeout_) + " and was killed";
        std::string tail = StderrTail(process_->stderr_path());
        if (!tail.empty()) gone_ += "; last stderr: " + tail;
        return Status::Timeout(gone_);
      }
      case Kind::kLine:
        if (std::optional<Status> answered = on_message(message)) return *answered;
        break;
    }
  }
}

// --- ProcessAgent

ProcessAgent::ProcessAgent(Options options, std::unique_ptr<Protocol> protocol, const Clock& clock)
    : options_(std::move(options)), protocol_(std::move(protocol)), clock_(clock) {}

ProcessAgent::~ProcessAgent() { Stop(); }

Status ProcessAgent::Start(const AgentContext& context) {
  std::string stderr_path =
      (context.work_dir.empty() ? "." : context.work_dir) + "/" + options_.name + ".stderr.log";
  Result<std::unique_ptr<AgentProcess>> started =
      AgentProcess::Start(options_.spawn_options(context, stderr_path), options_.name, clock_);
  if (!started.ok()) {
    Status failed = started.status();
    if (failed.IsNotFound()) {
      failed = Status::NotFound(failed.message() + " (see agent." + options_.name + ".binary)");
    }
    start_error_ = failed.message();
    return failed;
  }
  channel_ = std::make_unique<AgentChannel>(std::move(*started), options_.name,
                                            options_.handshake_timeout);
  Status ready =
      protocol_->Handshake(*channel_, context, clock_.Now() + options_.handshake_timeout);
  if (!ready.ok()) {
    start_error_ = ready.message();
    channel_->process_->Stop(milliseconds(0));
  }
  return ready;
}

TurnOutcome ProcessAgent::RunTurn(const TurnRequest& request, TurnSink& sink) {
  interrupt_requested_ = false;
  if (!start_error_.empty()) return TurnOutcome::Failed(start_error_);
  if (!channel_) return TurnOutcome::Failed(options_.name + " was not started");
  AgentChannel& channel = *channel_;
  if (!channel.gone_.empty()) return TurnOutcome::Failed(channel.gone_);
  std::unique_ptr<Turn> turn = protocol_->NewTurn(channel, request, sink);
  if (!turn->Begin().ok()) return channel.ProcessGone();
  bool interrupt_sent = false;
  std::optional<SteadyTime> deadline;  // set once an interrupt was requested
  json::object message;
  while (true) {
    if (interrupt_requested_ && !deadline) deadline = clock_.Now() + options_.interrupt_grace;
    if (deadline && !interrupt_sent && turn->CanInterrupt()) {
      interrupt_sent = true;
      if (!turn->SendInterrupt().ok()) return channel.ProcessGone();
    }
    switch (channel.Next(deadline, &message).kind) {
      case Kind::kWakeup:
        continue;
      case Kind::kExited:
        return channel.ProcessGone();
      case Kind::kTimeout:
        channel.process_->Kill();
        channel.gone_ = options_.name + " did not end the interrupted turn within " +
                        DescribeDuration(options_.interrupt_grace) + "; it was killed";
        return TurnOutcome::Interrupted(channel.gone_);
      case Kind::kLine:
        if (std::optional<TurnOutcome> ended = turn->OnMessage(message)) return *ended;
        break;
    }
  }
}

void ProcessAgent::Interrupt() {
  interrupt_requested_ = true;
  if (channel_) channel_->process_->Wake();
}

void ProcessAgent::Stop() {
  if (channel_) channel_->process_->Stop(options_.stop_grace);
}

}  // namespace codeswarm::worker
