// The command table: every subcommand with its options, description and example. The only
// translation unit that includes CLI11 (it costs seconds to compile); everything a command does
// lives in the files it calls.
#include "cli/cli.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <vector>

#include "cli/arguments.h"
#include "cli/commands.h"
#include "cli/deploy_command.h"
#include "cli/exit_codes.h"
#include "cli/node_spec.h"
#include "cli/session.h"
#include "cli/ui_command.h"

namespace codeswarm::cli {
namespace {

struct CommandEntry {
  CLI::App* app;
  std::function<int()> run;
};

// A usage error found after CLI11 parsed the line (a value it cannot check).
int UsageError(const Status& status) {
  std::cerr << "error: " << status.message() << std::endl;
  return kExitUsage;
}

CLI::App* AddCommand(CLI::App& app, const char* name, const char* description,
                     const char* example) {
  CLI::App* command = app.add_subcommand(name, description);
  command->footer(std::string("Example:\n  ") + example);
  return command;
}

// Checks a number of seconds (CLI11's own range checks print the limits of a double).
CLI::Validator SecondsCheck(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& text) -> std::string {
        char* end = nullptr;
        double value = std::strtod(text.c_str(), &end);
        bool ok = end != text.c_str() && *end == '\0' && std::isfinite(value) &&
                  (allow_zero ? value >= 0 : value > 0);
        if (ok) return "";
        return std::string("expected a number of seconds ") + (allow_zero ? ">= 0" : "> 0") +
               ", got \"" + text + "\"";
      },
      "");
}

// Adds --timeout SECONDS to `command`, bound to `seconds` (which holds the default).
void AddTimeout(CLI::App* command, double* seconds, const char* what) {
  command->add_option("--timeout", *seconds, std::string("Give up ") + what + " after SECONDS")
      ->type_name("SECONDS")
      ->check(SecondsCheck(false))
      ->capture_default_str();
}

// Adds --reconnect-timeout SECONDS to a following command, bound to `seconds`.
void AddReconnectTimeout(CLI::App* command, double* seconds) {
  command
      ->add_option("--reconnect-timeout", *seconds,
                   "When the connection to the router is lost, try this long to get it back and "
                   "go on where the stream stopped (0: exit at once)")
      ->type_name("SECONDS")
      ->check(SecondsCheck(true))
      ->capture_default_str();
}

// Adds --no-deltas to a following command, bound to `skip`.
void AddNoDeltas(CLI::App* command, bool* skip) {
  command->add_flag("--no-deltas", *skip,
                    "Leave out the token-by-token assistant_delta events: each answer comes "
                    "whole (with --json, as its assistant line)");
}

// Adds --prompt and --prompt-file to `command`, into `args`.
void AddPromptOptions(CLI::App* command, PromptArgs* args, const std::string& prompt_names,
                      const char* what) {
  CLI::Option* text =
      command
          ->add_option_function<std::string>(
              prompt_names, [args](const std::string& value) { args->text = value; },
              std::string("The ") + what)
          ->type_name("TEXT");
  command
      ->add_option_function<std::string>(
          "--prompt-file", [args](const std::string& value) { args->file = value; },
          std::string("Read the ") + what + " from PATH (- for stdin)")
      ->type_name("PATH")
      ->excludes(text);
}

CommandEntry AddRouter(CLI::App& app, const GlobalOptions& global, const Wiring& wiring) {
  auto log_to_file = std::make_shared<bool>(false);
  CLI::App* command = AddCommand(app, "router", "Run the router daemon in the foreground",
                                 "codeswarm router --router 127.0.0.1:8765");
  command->add_flag("--log-file", *log_to_file, "Log to <state_dir>/router.log instead of stderr");
  return {command, [&global, &wiring, log_to_file] {
            return RunRouterCommand(global, wiring, *log_to_file);
          }};
}

CommandEntry AddUi(CLI::App& app, const GlobalOptions& global) {
  auto no_browser = std::make_shared<bool>(false);
  CLI::App* command = AddCommand(app, "ui",
                                 "Print the web UI's address (and open it in a browser when one "
                                 "can be shown)",
                                 "codeswarm ui");
  command->add_flag("--no-browser", *no_browser, "Only print the address");
  return {command, [&global, no_browser] { return OpenUi(global, !*no_browser); }};
}

CommandEntry AddDeploy(CLI::App& app, const GlobalOptions& global, const Wiring& wiring) {
  CLI::App* command =
      AddCommand(app, "deploy",
                 "Install this codeswarm binary on the Slurm cluster (as the router does before "
                 "its first job)",
                 "codeswarm deploy");
  return {command,
          [&global, &wiring] { return RunDeployCommand(global, wiring, std::cout, std::cerr); }};
}

CommandEntry AddWorker(CLI::App& app, const Wiring& wiring) {
  CLI::App* command = app.add_subcommand("worker", "Run a worker (started by providers)");
  command->group("");  // not for people: hidden from --help
  return {command, [&wiring] { return wiring.run_worker(); }};
}

CommandEntry AddLaunch(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    LaunchRequest request;
    PromptArgs prompt;
    std::string agent_json;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command =
      AddCommand(app, "launch", "Launch a swarm of agent nodes",
                 "codeswarm launch --nodes 4 --prompt \"You review C++ code.\" --wait");
  command->add_option("--nodes", args->request.nodes, "Number of nodes")
      ->type_name("N")
      ->required()
      ->check(CLI::Range(1, kMaxNodeId + 1));
  AddPromptOptions(command, &args->prompt, "--prompt,--system-prompt",
                   "swarm's system prompt, given to every node's agent");
  command
      ->add_option("--agent", args->agent_json,
                   "Agent settings merged over the config's agent section, as a JSON object, "
                   "e.g. '{\"kind\":\"mock\"}'")
      ->type_name("JSON");
  command->add_flag("--wait", args->request.wait,
                    "Wait until every node is connected (or the swarm ends)");
  AddTimeout(command, &args->request.timeout_seconds, "waiting for the router (and --wait)");
  return {command, [&global, args, command] {
            Result<std::string> prompt = ReadPrompt(args->prompt, std::cin, false);
            if (!prompt.ok()) return UsageError(prompt.status());
            args->request.system_prompt = std::move(*prompt);
            if (command->count("--agent") > 0) {
              Result<boost::json::object> agent = ParseAgentArg(args->agent_json);
              if (!agent.ok()) return UsageError(agent.status());
              args->request.agent = std::move(*agent);
            }
            return RunWithRouter(global, [args](Client& client, Output& output) {
              return Launch(client, output, args->request);
            });
          }};
}

CommandEntry AddInject(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    InjectRequest request;
    PromptArgs prompt;
    std::string nodes = "all";
    std::string stdin_marker;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command =
      AddCommand(app, "inject", "Send a prompt to the nodes of a swarm and stream their answers",
                 "codeswarm inject s-3f9a1c2e --nodes 0,2-3 --prompt \"Summarise README.md\"");
  command->add_option("swarm_id", args->request.swarm_id, "The swarm")
      ->type_name("SWARM_ID")
      ->required();
  command->add_option("stdin", args->stdin_marker, "- to read the prompt from stdin")
      ->type_name("-")
      ->check(CLI::Validator(
          [](std::string& value) {
            return value == "-" ? std::string() : "expected - (read the prompt from stdin)";
          },
          ""));
  AddPromptOptions(command, &args->prompt, "--prompt", "prompt");
  command->add_option("--nodes", args->nodes, "Target nodes: all, 3, or a list such as 0,2-5")
      ->type_name("NODES")
      ->capture_default_str();
  AddTimeout(command, &args->request.timeout_seconds, "waiting for the router's acks");
  command
      ->add_option("--turn-timeout", args->request.turn_timeout_seconds,
                   "Stop following the turns after SECONDS (0: as long as they take)")
      ->type_name("SECONDS")
      ->check(SecondsCheck(true))
      ->capture_default_str();
  AddReconnectTimeout(command, &args->request.reconnect_seconds);
  AddNoDeltas(command, &args->request.skip_deltas);
  return {command, [&global, args] {
            Result<NodeSpec> nodes = ParseNodeSpec(args->nodes);
            if (!nodes.ok()) return UsageError(nodes.status().WithPrefix("--nodes"));
            args->request.nodes = std::move(*nodes);
            args->prompt.from_stdin = args->stdin_marker == "-";
            Result<std::string> prompt = ReadPrompt(args->prompt, std::cin, true);
            if (!prompt.ok()) return UsageError(prompt.status());
            args->request.content = std::move(*prompt);
            return RunWithRouter(global, [args](Client& client, Output& output) {
              return Inject(client, output, args->request);
            });
          }};
}

// A command that takes one SWARM_ID and a --timeout, and runs `run` with them.
using SwarmCommand = int (*)(Client&, Output&, const std::string&, double);

CommandEntry AddSwarmCommand(CLI::App& app, const GlobalOptions& global, const char* name,
                             const char* description, const char* example, double default_timeout,
                             const char* timeout_what, SwarmCommand run) {
  struct Args {
    std::string swarm_id;
    double timeout_seconds;
  };
  auto args = std::make_shared<Args>(Args{"", default_timeout});
  CLI::App* command = AddCommand(app, name, description, example);
  command->add_option("swarm_id", args->swarm_id, "The swarm")->type_name("SWARM_ID")->required();
  AddTimeout(command, &args->timeout_seconds, timeout_what);
  return {command, [&global, args, run] {
            return RunWithRouter(global, [args, run](Client& client, Output& output) {
              return run(client, output, args->swarm_id, args->timeout_seconds);
            });
          }};
}

CommandEntry AddAttach(CLI::App& app, const GlobalOptions& global) {
  auto request = std::make_shared<AttachRequest>();
  CLI::App* command = AddCommand(app, "attach", "Follow everything that happens in a swarm",
                                 "codeswarm attach s-3f9a1c2e --since 0");
  command->add_option("swarm_id", request->swarm_id, "The swarm")
      ->type_name("SWARM_ID")
      ->required();
  command
      ->add_option_function<int64_t>(
          "--since", [request](int64_t seq) { request->since_seq = seq; },
          "Show the swarm's events after SEQ first (0: every one the router still keeps); "
          "default: from now")
      ->type_name("SEQ")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            bool digits = !text.empty() && text.size() <= 18 &&
                          text.find_first_not_of("0123456789") == std::string::npos;
            return digits ? "" : "expected a seq (an integer >= 0), got \"" + text + "\"";
          },
          ""));
  AddTimeout(command, &request->timeout_seconds, "waiting for the swarm's status");
  AddReconnectTimeout(command, &request->reconnect_seconds);
  AddNoDeltas(command, &request->skip_deltas);
  return {command, [&global, request] {
            return RunWithRouter(global, [request](Client& client, Output& output) {
              return Attach(client, output, *request);
            });
          }};
}

CommandEntry AddInterrupt(CLI::App& app, const GlobalOptions& global) {
  struct Args {
    std::string swarm_id;
    std::string nodes = "all";
    double timeout_seconds = kDefaultTimeoutSeconds;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command =
      AddCommand(app, "interrupt", "Stop the turn the nodes of a swarm are running now",
                 "codeswarm interrupt s-3f9a1c2e --nodes 2");
  command->add_option("swarm_id", args->swarm_id, "The swarm")->type_name("SWARM_ID")->required();
  command->add_option("--nodes", args->nodes, "Target nodes: all, 3, or a list such as 0,2-5")
      ->type_name("NODES")
      ->capture_default_str();
  AddTimeout(command, &args->timeout_seconds, "waiting for the router");
  return {command, [&global, args] {
            Result<NodeSpec> nodes = ParseNodeSpec(args->nodes);
            if (!nodes.ok()) return UsageError(nodes.status().WithPrefix("--nodes"));
            return RunWithRouter(global, [args, nodes = *nodes](Client& client, Output& output) {
              return InterruptTurns(client, output, args->swarm_id, nodes, args->timeout_seconds);
            });
          }};
}

// approve / deny: one decision for a waiting approval request.
CommandEntry AddDecide(CLI::App& app, const GlobalOptions& global, const char* name,
                       const char* description, const char* example, const char* decision) {
  struct Args {
    std::string swarm_id;
    int node_id = 0;
    std::string approval_id;
    double timeout_seconds = kDefaultTimeoutSeconds;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command = AddCommand(app, name, description, example);
  command->add_option("swarm_id", args->swarm_id, "The swarm")->type_name("SWARM_ID")->required();
  command->add_option("node", args->node_id, "The node that asks")
      ->type_name("NODE")
      ->required()
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            bool digits = !text.empty() && text.size() <= 7 &&
                          text.find_first_not_of("0123456789") == std::string::npos;
            return digits ? "" : "expected a node id (an integer >= 0), got \"" + text + "\"";
          },
          ""));
  command->add_option("approval_id", args->approval_id, "The request, as attach shows it")
      ->type_name("APPROVAL_ID")
      ->required();
  AddTimeout(command, &args->timeout_seconds, "waiting for the router");
  return {command, [&global, args, decision] {
            return RunWithRouter(global, [args, decision](Client& client, Output& output) {
              return DecideApproval(client, output, args->swarm_id, args->node_id,
                                    args->approval_id, decision, args->timeout_seconds);
            });
          }};
}

CommandEntry AddList(CLI::App& app, const GlobalOptions& global) {
  auto timeout_seconds = std::make_shared<double>(kDefaultTimeoutSeconds);
  CLI::App* command = AddCommand(app, "list", "List all swarms the router knows", "codeswarm list");
  AddTimeout(command, timeout_seconds.get(), "waiting for the router");
  return {command, [&global, timeout_seconds] {
            return RunWithRouter(global, [timeout_seconds](Client& client, Output& output) {
              return ListSwarms(client, output, *timeout_seconds);
            });
          }};
}

}  // namespace

int Main(int argc, char** argv, const Wiring& wiring) {
  // `codeswarm relay ...` (hidden; started by the router over ssh) parses its own options: none
  // of the global ones apply to it.
  if (argc >= 2 && std::string_view(argv[1]) == "relay") {
    return wiring.run_relay(std::vector<std::string>(argv + 2, argv + argc));
  }
  CLI::App app("Codeswarm: launch swarms of AI coding agents, inject prompts, stream answers.",
               "codeswarm");
  app.set_version_flag("--version", std::string("codeswarm ") + CODESWARM_VERSION);
  app.require_subcommand(1);
  // Global options may also follow the subcommand: `codeswarm list --json`.
  app.fallthrough();
  app.footer(
      "Run `codeswarm COMMAND --help` for a command's options. Exit codes: 0 ok, "
      "1 rejected or failed, 2 usage error, 3 router unreachable, 130 interrupted.");

  GlobalOptions global;
  global.validate_agent = wiring.validate_agent;
  app.add_option_function<std::string>(
         "--config", [&global](const std::string& v) { global.config_path = v; },
         "Config file (default: $CODESWARM_CONFIG, else ~/.config/codeswarm/config.json)")
      ->type_name("PATH");
  app.add_option_function<std::string>(
         "--router", [&global](const std::string& v) { global.router = v; },
         "Router address, overriding router.host and router.port of the config")
      ->type_name("HOST:PORT");
  app.add_flag("--debug", global.debug, "Print every protocol line sent (>) and received (<)");
  app.add_flag("--json", global.json,
               "Print the command's events as received, one JSON object per line");
  app.add_flag("--no-autostart", global.no_autostart,
               "Never start a router when none answers on this machine");

  const std::vector<CommandEntry> commands = {
      AddLaunch(app, global),
      AddInject(app, global),
      AddSwarmCommand(app, global, "status", "Show a swarm and its nodes",
                      "codeswarm status s-3f9a1c2e", kDefaultTimeoutSeconds,
                      "waiting for the router", ShowStatus),
      AddList(app, global),
      AddInterrupt(app, global),
      AddSwarmCommand(app, global, "terminate", "Stop a swarm's job and end its turns",
                      "codeswarm terminate s-3f9a1c2e", kTerminateTimeoutSeconds,
                      "waiting for the swarm to stop", Terminate),
      AddAttach(app, global),
      AddDecide(app, global, "approve", "Let a node's agent do what it asked (approval_decision \"ask\")",
                "codeswarm approve s-3f9a1c2e 1 a-0c1d2e3f4a5b", "accept"),
      AddDecide(app, global, "deny", "Refuse what a node's agent asked (approval_decision \"ask\")",
                "codeswarm deny s-3f9a1c2e 1 a-0c1d2e3f4a5b", "decline"),
      AddUi(app, global),
      AddRouter(app, global, wiring),
      AddDeploy(app, global, wiring),
      AddWorker(app, wiring),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version arrive here too, with exit code 0.
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (const CommandEntry& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return kExitUsage;  // unreachable: require_subcommand(1)
}

}  // namespace codeswarm::cli
