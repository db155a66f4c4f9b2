// attach and a running inject across a router that dies: against the in-memory JournalRouter,
// the router dies at every read of a command in turn ("fail at step N"), with the live events of
// each new connection ahead of or behind its replay; the output must be the one of a run where
// nothing happened. Reconnecting is bounded, said on stderr, and Ctrl-C still works.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli_journal_router.h"

namespace codeswarm::cli {
namespace {

using testing::JournalRouter;
using Script = std::vector<std::pair<std::string, std::string>>;
using Seam = JournalRouter::Seam;

std::string Ids(int node) {
  return R"("swarm_id":"s-1","job_id":"j","node_id":)" + std::to_string(node) +
         R"(,"injection_id":"i-1")";
}

// Injection i-1 on nodes 0 and 1: acks, deliveries, `deltas` one-line deltas per node
// interleaved, and a completed turn each.
Script TwoNodeTurn(int deltas) {
  Script script;
  for (int node : {0, 1}) {
    script.push_back({"inject_ack", "{" + Ids(node) + R"(,"request_id":"$RID","nodes":[0,1]})"});
  }
  for (int node : {0, 1}) script.push_back({"inject_delivered", "{" + Ids(node) + "}"});
  for (int node : {0, 1}) script.push_back({"turn_started", "{" + Ids(node) + "}"});
  for (int k = 0; k < deltas; ++k) {
    for (int node : {0, 1}) {
      script.push_back({"assistant_delta", "{" + Ids(node) + R"(,"delta":"node )" +
                                               std::to_string(node) + " word " + std::to_string(k) +
                                               R"(\n"})"});
    }
  }
  for (int node : {0, 1}) {
    script.push_back({"turn_complete", "{" + Ids(node) + R"(,"status":"completed","error":null})"});
  }
  return script;
}

// The swarm's life as attach sees it: a node connects, a turn streams, the swarm is terminated.
Script SwarmLife(int deltas) {
  Script script = {{"node_connected", "{" + Ids(1) + R"(,"hostname":"n1","pid":7})"}};
  Script turn = TwoNodeTurn(deltas);
  script.insert(script.end(), turn.begin(), turn.end());
  script.push_back(
      {"assistant_delta",
       R"({"swarm_id":"s-2","node_id":0,"injection_id":"i-9","delta":"other swarm"})"});
  script.push_back(
      {"swarm_terminated", R"({"request_id":"cli-other-2","swarm_id":"s-1","job_id":"j"})"});
  return script;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// JSON output without the seqs, which a restarted router numbers further ahead, and with one
// request_id for all (each run has its own).
std::string WithoutSeqs(const std::string& out) {
  std::string same_ids = std::regex_replace(out, std::regex(R"("request_id":"cli-[0-9]+-[0-9]+")"),
                                            R"("request_id":"R")");
  return std::regex_replace(same_ids, std::regex(R"("seq":[0-9]+,)"), "");
}

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
  int connections = 0;
  int reads = 0;
  int pauses = 0;
  int injects = 0;  // inject commands sent
  Duration waited{};
};

struct Scenario {
  JournalRouter::Options router;
  int die_at_read = 0;  // 0: never
  int refused_dials = 1;
  bool json = false;
  bool interrupt_on_pause = false;
  double reconnect_seconds = 60;
  std::optional<int64_t> since_seq;  // attach
  bool skip_deltas = false;
};

template <typename Command>
Outcome RunAgainst(const Scenario& setup, JournalRouter& router, const Command& command) {
  if (setup.die_at_read > 0) router.DieAtRead(setup.die_at_read, setup.refused_dials);
  ManualClock clock;
  const SteadyTime start = clock.Now();
  auto dialer = std::make_unique<JournalRouter::FakeDialer>(router, clock);
  dialer->interrupt_on_pause = setup.interrupt_on_pause;
  JournalRouter::FakeDialer& dialer_ref = *dialer;
  std::ostringstream out;
  std::ostringstream err;
  Output output(out, err, setup.json);
  Client client(router.Connect(), err, nullptr, std::move(dialer));
  Outcome run;
  run.exit_code = command(client, output, clock);
  run.out = out.str();
  run.err = err.str();
  run.connections = router.connections();
  run.reads = router.reads();
  run.pauses = dialer_ref.pauses;
  for (const std::string& line : router.commands()) {
    run.injects += Contains(line, R"("command":"inject")") ? 1 : 0;
  }
  run.waited = clock.Now() - start;
  return run;
}

Outcome InjectRun(const Scenario& setup, const Script& turn = TwoNodeTurn(3)) {
  JournalRouter router(setup.router);
  router.Script(turn, /*at_once=*/false);
  return RunAgainst(setup, router, [&](Client& client, Output& output, const Clock& clock) {
    InjectRequest request;
    request.swarm_id = "s-1";
    request.content = "x";
    request.reconnect_seconds = setup.reconnect_seconds;
    request.skip_deltas = setup.skip_deltas;
    request.clock = &clock;
    return Inject(client, output, request);
  });
}

Outcome AttachRun(const Scenario& setup, const Script& life) {
  JournalRouter router(setup.router);
  router.Script(life, /*at_once=*/true);
  return RunAgainst(setup, router, [&](Client& client, Output& output, const Clock& clock) {
    AttachRequest request;
    request.swarm_id = "s-1";
    request.since_seq = setup.since_seq;
    request.reconnect_seconds = setup.reconnect_seconds;
    request.skip_deltas = setup.skip_deltas;
    request.clock = &clock;
    return Attach(client, output, request);
  });
}

TEST(CliFollowTest, InjectShowsEveryTokenOnceWhicheverReadTheRouterDiesAt) {
  for (Seam seam : {Seam::kLiveFirst, Seam::kReplayFirst}) {
    for (bool json : {false, true}) {
      Scenario setup;
      setup.router.seam = seam;
      setup.json = json;
      const Outcome calm = InjectRun(setup);
      ASSERT_EQ(calm.exit_code, kExitOk) << calm.err;
      ASSERT_EQ(calm.err, "");
      ASSERT_EQ(calm.connections, 1);
      // Read 1 answers the first subscribe, before the inject is sent: losing it ends the
      // command (nothing was sent); from read 2 on, the inject is followed to its end.
      for (int read = 2; read <= calm.reads; ++read) {
        SCOPED_TRACE("seam " + std::to_string(static_cast<int>(seam)) + (json ? " json" : "") +
                     ", the router dies at read " + std::to_string(read));
        setup.die_at_read = read;
        const Outcome run = InjectRun(setup);
        EXPECT_EQ(run.exit_code, kExitOk) << run.err;
        EXPECT_EQ(WithoutSeqs(run.out), WithoutSeqs(calm.out));
        EXPECT_EQ(run.connections, 2);
        EXPECT_TRUE(Contains(run.err,
                             "router connection lost; reconnecting for up to 60 s (the "
                             "router closed the connection)\nreconnected to the router "
                             "at memory:1; resuming after seq "))
            << run.err;
        EXPECT_EQ(run.injects, 1) << "the inject is sent once; the new connection subscribes";
      }
    }
  }
}

TEST(CliFollowTest, AttachShowsEveryEventOnceWhicheverReadTheRouterDiesAt) {
  for (Seam seam : {Seam::kLiveFirst, Seam::kReplayFirst}) {
    for (bool json : {false, true}) {
      Scenario setup;
      setup.router.seam = seam;
      setup.json = json;
      const Outcome calm = AttachRun(setup, SwarmLife(3));
      ASSERT_EQ(calm.exit_code, kExitOk) << calm.err;
      ASSERT_EQ(calm.err, "");
      // Reads 1-2 are the events broadcast as attach connected, 3 the status answer, 4 the
      // subscribe's: until then nothing is followed yet.
      for (int read = 5; read <= calm.reads; ++read) {
        SCOPED_TRACE("seam " + std::to_string(static_cast<int>(seam)) + (json ? " json" : "") +
                     ", the router dies at read " + std::to_string(read));
        setup.die_at_read = read;
        const Outcome run = AttachRun(setup, SwarmLife(3));
        EXPECT_EQ(run.exit_code, kExitOk) << run.err;
        EXPECT_EQ(WithoutSeqs(run.out), WithoutSeqs(calm.out));
        EXPECT_TRUE(Contains(run.err, "router connection lost; reconnecting")) << run.err;
      }
    }
  }
}

TEST(CliFollowTest, AttachShowsTheSwarmAfterItsHeaderInSeqOrder) {
  Scenario setup;
  const Outcome run = AttachRun(setup, SwarmLife(1));
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(run.out,
            "swarm:      s-1\n"
            "status:     running\n"
            "backend:    local\n"
            "job:        j\n"
            "agent:      mock\n"
            "nodes:      2\n"
            "connected:  2\n"
            "created:    t\n"
            "\n"
            "following swarm s-1 (Ctrl-C to stop)\n"
            "[node 1] connected (host n1, pid 7)\n"
            "[node 0] injection i-1 acknowledged\n"
            "[node 1] injection i-1 acknowledged\n"
            "[node 0] injection i-1 delivered\n"
            "[node 1] injection i-1 delivered\n"
            "[node 0] turn started (injection i-1)\n"
            "[node 1] turn started (injection i-1)\n"
            "[node 0] node 0 word 0\n"
            "[node 1] node 1 word 0\n"
            "[node 0] completed\n"
            "[node 1] completed\n"
            "swarm s-1 terminated\n");
}

TEST(CliFollowTest, RouterUnreachablePastTheBoundExitsThreeAfterBackingOff) {
  Scenario setup;
  setup.die_at_read = 5;
  setup.refused_dials = 1000;
  setup.reconnect_seconds = 10;
  const Outcome run = InjectRun(setup);
  EXPECT_EQ(run.exit_code, kExitUnreachable);
  EXPECT_EQ(run.err,
            "router connection lost; reconnecting for up to 10 s (the router closed the "
            "connection)\n"
            "error: lost the connection to the router at memory:1: the router stayed unreachable "
            "for 10 s (connection refused); no result yet from nodes 0-1\n");
  // Pauses of 0.1, 0.2, 0.4, 0.8, 1.6, then 2 s, until the 10 s are over.
  EXPECT_EQ(run.pauses, 9);
  EXPECT_EQ(run.waited, std::chrono::seconds(10));
}

TEST(CliFollowTest, ReconnectTimeoutZeroEndsTheStreamAtTheLoss) {
  Scenario setup;
  setup.die_at_read = 5;
  setup.reconnect_seconds = 0;
  const Outcome run = InjectRun(setup);
  EXPECT_EQ(run.exit_code, kExitUnreachable);
  EXPECT_EQ(run.connections, 1);
  EXPECT_EQ(run.err,
            "error: lost the connection to the router at memory:1: the router closed the "
            "connection; no result yet from nodes 0-1\n");
}

TEST(CliFollowTest, CtrlCWhileReconnectingStopsInjectWith130AndAttachWithZero) {
  Scenario setup;
  setup.die_at_read = 6;
  setup.interrupt_on_pause = true;
  const Outcome inject = InjectRun(setup);
  EXPECT_EQ(inject.exit_code, kExitInterrupted);
  EXPECT_TRUE(Contains(inject.err, "interrupted: no result yet from nodes 0-1")) << inject.err;
  const Outcome attach = AttachRun(setup, SwarmLife(1));
  EXPECT_EQ(attach.exit_code, kExitOk);
  EXPECT_EQ(attach.pauses, 1);
}

TEST(CliFollowTest, AttachSinceZeroShowsTheJournaledEventsOfASwarmThatIsOver) {
  Scenario setup;
  setup.router.swarm_status = "terminated";
  setup.router.live_on_connect = 0;
  auto history = [](JournalRouter& router) {
    router.Broadcast("node_connected", "{" + Ids(0) + "}");
    router.Broadcast("assistant_delta", "{" + Ids(0) + R"(,"delta":"old news\n"})");
    router.Broadcast("turn_complete", "{" + Ids(0) + R"(,"status":"completed","error":null})");
  };
  auto attach = [&](std::optional<int64_t> since) {
    JournalRouter router(setup.router);
    history(router);
    Scenario with = setup;
    with.since_seq = since;
    return RunAgainst(with, router, [&](Client& client, Output& output, const Clock& clock) {
      AttachRequest request;
      request.swarm_id = "s-1";
      request.since_seq = since;
      request.clock = &clock;
      return Attach(client, output, request);
    });
  };
  const Outcome all = attach(0);
  EXPECT_EQ(all.exit_code, kExitOk) << all.err;
  EXPECT_TRUE(Contains(all.out,
                       "swarm s-1 is terminated; its journaled events:\n"
                       "[node 0] connected\n"
                       "[node 0] old news\n"
                       "[node 0] completed\n"))
      << all.out;
  const Outcome later = attach(2);
  EXPECT_TRUE(Contains(later.out, "its journaled events:\n[node 0] completed\n")) << later.out;
  const Outcome now = attach(std::nullopt);
  EXPECT_TRUE(Contains(now.out, "swarm s-1 is terminated; nothing to follow\n")) << now.out;
  EXPECT_FALSE(Contains(now.out, "old news"));
}

TEST(CliFollowTest, EventsThatRetentionPrunedAreSaidInBothModes) {
  Scenario setup;
  setup.router.swarm_status = "terminated";
  setup.router.live_on_connect = 0;
  setup.router.pruned_through = 2;
  setup.since_seq = 0;
  for (bool json : {false, true}) {
    setup.json = json;
    JournalRouter router(setup.router);
    router.Broadcast("assistant_delta", "{" + Ids(0) + R"(,"delta":"gone\n"})");
    router.Broadcast("assistant_delta", "{" + Ids(0) + R"(,"delta":"gone too\n"})");
    router.Broadcast("turn_complete", "{" + Ids(0) + R"(,"status":"completed","error":null})");
    const Outcome run =
        RunAgainst(setup, router, [&](Client& client, Output& output, const Clock& clock) {
          AttachRequest request;
          request.swarm_id = "s-1";
          request.since_seq = 0;
          request.clock = &clock;
          return Attach(client, output, request);
        });
    EXPECT_EQ(run.exit_code, kExitOk) << run.err;
    EXPECT_FALSE(Contains(run.out, "gone"));
    if (json) {
      EXPECT_TRUE(Contains(run.out, R"("event":"events_pruned","data":{"request_id":)")) << run.out;
      EXPECT_TRUE(Contains(run.out, R"("from_seq":1,"to_seq":2,"swarm_id":"s-1"})")) << run.out;
    } else {
      EXPECT_TRUE(Contains(run.out,
                           "events 1 to 2 are no longer in the router's journal (retention): "
                           "those of them that belong here cannot be shown\n"
                           "[node 0] completed\n"))
          << run.out;
    }
  }
}

// --no-deltas: no assistant_delta line in either mode, whichever read the router dies at; each
// answer comes whole from its assistant event.
TEST(CliFollowTest, NoDeltasShowsEachAnswerWholeAndNoDelta) {
  Script turn = TwoNodeTurn(3);
  Script life = SwarmLife(3);
  for (Script* script : {&turn, &life}) {
    auto end = std::find_if(script->begin(), script->end(),
                            [](const auto& event) { return event.first == "turn_complete"; });
    end = script->insert(end, {"assistant", "{" + Ids(1) + R"(,"content":"node 1 whole"})"}) + 1;
    script->insert(end, {"assistant", "{" + Ids(0) + R"(,"content":"node 0 whole"})"});
  }
  for (bool json : {false, true}) {
    Scenario setup;
    setup.json = json;
    setup.skip_deltas = true;
    const Outcome inject_calm = InjectRun(setup, turn);
    const Outcome attach_calm = AttachRun(setup, life);
    for (const Outcome* calm : {&inject_calm, &attach_calm}) {
      ASSERT_EQ(calm->exit_code, kExitOk) << calm->err;
      EXPECT_FALSE(Contains(calm->out, "word")) << calm->out;
      EXPECT_FALSE(Contains(calm->out, "assistant_delta")) << calm->out;
      EXPECT_TRUE(Contains(calm->out, json ? R"("content":"node 0 whole")" : "node 0 whole"))
          << calm->out;
      EXPECT_TRUE(Contains(calm->out, json ? R"("content":"node 1 whole")" : "[node 1] node 1 whole"))
          << calm->out;
    }
    EXPECT_TRUE(Contains(inject_calm.out, json ? R"("event":"turn_complete")" : "completed"));
    setup.die_at_read = 6;
    const Outcome inject_cut = InjectRun(setup, turn);
    EXPECT_EQ(inject_cut.exit_code, kExitOk) << inject_cut.err;
    EXPECT_EQ(WithoutSeqs(inject_cut.out), WithoutSeqs(inject_calm.out));
    const Outcome attach_cut = AttachRun(setup, life);
    EXPECT_EQ(attach_cut.exit_code, kExitOk) << attach_cut.err;
    EXPECT_EQ(WithoutSeqs(attach_cut.out), WithoutSeqs(attach_calm.out));
  }
  // Without the flag the deltas are there, and the whole answer is not repeated.
  Scenario streamed;
  const Outcome run = InjectRun(streamed, turn);
  EXPECT_TRUE(Contains(run.out, "word 2")) << run.out;
  EXPECT_FALSE(Contains(run.out, "whole")) << run.out;
}

}  // namespace
}  // namespace codeswarm::cli
