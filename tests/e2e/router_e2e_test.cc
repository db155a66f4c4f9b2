// The real router, the local provider and real worker processes on loopback, driven over the
// client protocol: the lifecycle of swarms, injections and turns.
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "e2e/router_e2e_fixture.h"

namespace codeswarm::e2e {
namespace {

using namespace router_test;  // NOLINT: the fixture and its helpers

TEST_F(RouterE2ETest, FourNodesEachStreamTheFullOrderedSequence) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 4);
  std::string injection = InjectAndWait(client, swarm, "hello swarm", 4);
  for (int node = 0; node < 4; ++node) {
    EXPECT_EQ(client.Sequence(injection, node), kFullTurn) << "node " << node;
  }
  std::map<int64_t, std::string> text;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "assistant_delta") && Field(e, "injection_id") == injection) {
      text[e.at("data").at("node_id").as_int64()] += Field(e, "delta");
    }
    if (IsEvent(e, "turn_complete")) {
      EXPECT_EQ(Field(e, "status"), "completed");
      EXPECT_TRUE(e.at("data").at("error").is_null());
    }
  }
  for (int node = 0; node < 4; ++node) {
    EXPECT_EQ(text[node], "node " + std::to_string(node) + " heard: hello swarm");
  }
  // Every broadcast event carries the next seq.
  int64_t prev = -1;
  for (const json::object& e : client.events()) {
    if (!e.contains("seq")) continue;
    if (prev >= 0) {
      EXPECT_EQ(e.at("seq").as_int64(), prev + 1);
    }
    prev = e.at("seq").as_int64();
  }
}

TEST_F(RouterE2ETest, InjectBeforeWorkersConnectIsDeliveredWhenTheyConnect) {
  RouterProcess router(dir_, {}, {{"CODESWARM_TEST_CONNECT_DELAY_MS", "1500"}});
  router.Start();
  ProtocolClient client(router.port());
  std::string rid = client.Send("swarm_launch", {{"nodes", 2}});
  std::string swarm = Field(client.Answer(rid), "swarm_id");
  std::string inject_rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "early"}});
  json::object ack = client.Answer(inject_rid);
  ASSERT_EQ(Str(ack.at("event")), "inject_ack");
  std::string injection = Field(ack, "injection_id");
  for (int done = 0; done < 2; ++done) {
    client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_complete"); });
  }
  // Delivery came only after the node connected.
  for (int node = 0; node < 2; ++node) {
    std::vector<std::string> order;
    for (const json::object& e : client.events()) {
      const json::value* n = e.at("data").as_object().if_contains("node_id");
      if (n == nullptr || n->as_int64() != node) continue;
      if (IsEvent(e, "node_connected") || IsEvent(e, "inject_ack") ||
          IsEvent(e, "inject_delivered")) {
        order.emplace_back(e.at("event").as_string());
      }
    }
    EXPECT_EQ(order, (std::vector<std::string>{"inject_ack", "node_connected", "inject_delivered"}));
    EXPECT_EQ(client.Sequence(injection, node), kFullTurn);
  }
}

TEST_F(RouterE2ETest, TerminateLeavesNoProcessAndNoZombieAndLaterInjectsAreRejected) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 3);
  std::vector<ProcessInfo> workers = ProcessesOfSwarm(swarm);
  ASSERT_EQ(workers.size(), 3u);

  std::string rid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  json::object answer = client.Answer(rid);
  ASSERT_EQ(Str(answer.at("event")), "swarm_terminated") << json::serialize(answer);
  EXPECT_TRUE(ProcessesOfSwarm(swarm).empty());
  for (const ProcessInfo& p : workers) {
    EXPECT_FALSE(ProcessState(p.pid).has_value()) << "pid " << p.pid << " still exists (state "
                                                   << ProcessState(p.pid).value_or('?') << ")";
  }
  std::string inject_rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "too late"}});
  json::object rejected = client.Answer(inject_rid);
  EXPECT_EQ(Str(rejected.at("event")), "command_rejected");
  EXPECT_EQ(Field(rejected, "code"), "swarm_ended");
  EXPECT_EQ(Field(rejected, "reason"),
            "swarm " + swarm + " is terminated; it takes no more injections");
}

TEST_F(RouterE2ETest, TerminateDuringATurnEndsItInterrupted) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 2);
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid), "injection_id");
  client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_started"); });
  std::string trid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  client.Answer(trid);
  int completes = 0;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection) {
      ++completes;
      EXPECT_EQ(Field(e, "status"), "interrupted");
    }
  }
  EXPECT_EQ(completes, 2);  // exactly one per node, before swarm_terminated
}

TEST_F(RouterE2ETest, FailedTurnAndCrashedWorkerEachEndInFailedTurnComplete) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 2);

  std::string failed = InjectAndWait(client, swarm, "please [[mock:fail]]", 1, 0);
  json::object complete;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "turn_complete") && Field(e, "injection_id") == failed) complete = e;
  }
  EXPECT_EQ(Field(complete, "status"), "failed");
  EXPECT_EQ(Field(complete, "error"), "mock agent failure requested");

  std::string crashed = InjectAndWait(client, swarm, "please [[mock:crash]]", 1, 1);
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "turn_complete") && Field(e, "injection_id") == crashed) complete = e;
  }
  EXPECT_EQ(Field(complete, "status"), "failed");
  EXPECT_EQ(Field(complete, "error"), "worker lost: worker process killed by signal 6 (SIGABRT)");
  std::vector<std::string> seq = client.Sequence(crashed, 1);
  EXPECT_EQ(seq.front(), "inject_ack");
  EXPECT_EQ(std::count(seq.begin(), seq.end(), "turn_complete"), 1);
  // The other node is unaffected.
  InjectAndWait(client, swarm, "still there?", 1, 0);
}

TEST_F(RouterE2ETest, InterruptEndsARunningTurnAsInterrupted) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 2);
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"nodes", 0}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid), "injection_id");
  client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_started"); });
  std::string irid = client.Send("interrupt", {{"swarm_id", swarm}});
  json::object ack = client.Answer(irid);
  ASSERT_EQ(Str(ack.at("event")), "interrupt_ack") << json::serialize(ack);
  EXPECT_EQ(ack.at("data").at("interrupted").as_array().size(), 1u);
  EXPECT_EQ(ack.at("data").at("idle"), json::array{1});
  json::object complete = client.WaitFor([&](const json::object& e) {
    return IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection;
  });
  EXPECT_EQ(Field(complete, "status"), "interrupted");
  EXPECT_EQ(Field(complete, "error"), "interrupted by request");
  // The node goes on with the next turn.
  InjectAndWait(client, swarm, "next", 1, 0);
}

TEST_F(RouterE2ETest, WorkerKilledWithSigtermDrainsItsTurnFailsAndItIsReported) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 2);
  std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"nodes", 1}, {"content", "[[mock:hang]]"}});
  std::string injection = Field(client.Answer(rid), "injection_id");
  client.WaitFor([&](const json::object& e) { return IsEvent(e, "turn_started"); });
  pid_t node1 = 0;
  for (const json::object& e : client.events()) {
    if (IsEvent(e, "node_connected") && e.at("data").at("node_id").as_int64() == 1) {
      node1 = static_cast<pid_t>(e.at("data").at("pid").as_int64());
    }
  }
  ASSERT_GT(node1, 0);
  ::kill(node1, SIGTERM);
  json::object draining = client.WaitFor([](const json::object& e) { return IsEvent(e, "node_draining"); });
  EXPECT_EQ(Field(draining, "reason"), "worker terminated (SIGTERM)");
  json::object complete = client.WaitFor([&](const json::object& e) {
    return IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection;
  });
  // A SIGTERM the router did not announce comes from outside (scancel, preemption, kill): the
  // turn it cut short failed. (A swarm_terminate ends turns as interrupted.)
  EXPECT_EQ(Field(complete, "status"), "failed");
  EXPECT_EQ(Field(complete, "error"), "worker terminated (SIGTERM)");
  json::object lost = client.WaitFor([](const json::object& e) { return IsEvent(e, "node_lost"); });
  EXPECT_EQ(lost.at("data").at("node_id").as_int64(), 1);
  std::vector<std::string> seq = client.Sequence(injection, 1);
  EXPECT_EQ(seq.front(), "inject_ack");
  EXPECT_EQ(seq.back(), "turn_complete");
  EXPECT_EQ(std::count(seq.begin(), seq.end(), "turn_complete"), 1);
}

TEST_F(RouterE2ETest, TerminatedWorkerLeavesNoProcessItsAgentStarted) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 1);
  InjectAndWait(client, swarm, "[[mock:orphan]] start something", 1);
  // The worker and the process its agent left behind (which carries the worker's environment;
  // /proc shows it none while it is between exec()s, so look until it settles).
  ASSERT_TRUE(Eventually([&] { return ProcessesOfSwarm(swarm).size() == 2; }, 5s))
      << ProcessesOfSwarm(swarm).size() << " processes of the swarm";
  std::string rid = client.Send("swarm_terminate", {{"swarm_id", swarm}});
  client.Answer(rid);
  EXPECT_TRUE(Eventually([&] { return ProcessesOfSwarm(swarm).empty(); }, 5s));
}

}  // namespace
}  // namespace codeswarm::e2e
