// The real router on loopback: several clients, slow clients, malformed input and other users.
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

TEST_F(RouterE2ETest, TwoClientsBothSeeEveryEvent) {
  RouterProcess router(dir_);
  router.Start();
  ProtocolClient a(router.port());
  ProtocolClient b(router.port());
  std::string swarm = LaunchAndWait(a, 2);
  std::string injection = InjectAndWait(a, swarm, "both of you", 2);
  for (int done = 0; done < 2; ++done) {
    b.WaitFor([&](const json::object& e) {
      return IsEvent(e, "turn_complete") && Field(e, "injection_id") == injection;
    });
  }
  auto seqs = [](const ProtocolClient& c) {
    std::vector<int64_t> out;
    for (const json::object& e : c.events()) {
      if (e.contains("seq")) out.push_back(e.at("seq").as_int64());
    }
    return out;
  };
  b.Drain(200ms);
  a.Drain(200ms);
  EXPECT_EQ(seqs(a), seqs(b));
  EXPECT_EQ(b.Sequence(injection, 1), kFullTurn);
}

TEST_F(RouterE2ETest, ClientThatStopsReadingIsCutOffWithAReasonWhileOthersKeepReceiving) {
  RouterProcess router(dir_, {{"router", {{"client_queue_bytes", 262144}, {"slow_client_grace_seconds", 10}}},
                              {"agent", {{"mock", {{"reply", "{prompt}"}, {"chunks", 10}}}}}});
  router.Start();
  // The slow client asks for a tiny receive buffer and then reads nothing.
  int slow = ::socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(router.port()));
  ASSERT_EQ(::connect(slow, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  ProtocolClient fast(router.port());
  std::string swarm = LaunchAndWait(fast, 2);
  // ~8 MB of events: more than the slow client's queue bound plus what the kernel buffers.
  std::string big(20 * 1024, 'x');
  std::string last;
  for (int i = 0; i < 100; ++i) last = InjectAndWait(fast, swarm, big, 2);
  EXPECT_EQ(fast.Sequence(last, 1).back(), "turn_complete");

  // Now the slow client reads: old events, then the reason, then the end.
  std::string received;
  char buf[65536];
  while (true) {
    ssize_t n = ::recv(slow, buf, sizeof buf, 0);
    if (n <= 0) break;
    received.append(buf, static_cast<std::size_t>(n));
  }
  ::close(slow);
  std::size_t last_line = received.rfind('\n', received.size() - 2);
  std::string final_line = received.substr(last_line + 1);
  json::object closing = json::parse(final_line).as_object();
  EXPECT_EQ(Str(closing.at("event")), "connection_closing");
  EXPECT_NE(Field(closing, "reason").find("client too slow"), std::string::npos);
  EXPECT_LT(received.size(), 10u << 20);  // it did not get (or buffer) everything
  // The router is fine and the fast client still works.
  InjectAndWait(fast, swarm, "after", 2);
}

TEST_F(RouterE2ETest, MalformedAndOversizedLinesAreRejectedAndTheConnectionKeepsWorking) {
  RouterProcess router(dir_, {{"router", {{"max_line_bytes", 4096}}}});
  router.Start();
  ProtocolClient client(router.port());
  client.SendRaw("this is not json\n");
  json::object r1 = client.WaitFor([](const json::object& e) { return IsEvent(e, "command_rejected"); });
  EXPECT_EQ(Field(r1, "code"), "invalid_json");
  client.SendRaw(std::string(10000, 'a') + "\n");
  json::object r2 = client.WaitFor([](const json::object& e) { return IsEvent(e, "command_rejected"); });
  EXPECT_EQ(Field(r2, "code"), "line_too_long");
  EXPECT_EQ(Field(r2, "reason"), "line exceeds the limit of 4096 bytes; it was discarded");
  client.SendRaw("{\"request_id\":\"x\xff\"}\n");
  json::object r3 = client.WaitFor([](const json::object& e) { return IsEvent(e, "command_rejected"); });
  EXPECT_EQ(Field(r3, "code"), "invalid_utf8");
  std::string rid = client.Send("swarm_list", {});
  EXPECT_EQ(Str(client.Answer(rid).at("event")), "swarm_list");
}

TEST_F(RouterE2ETest, AnotherUsersConnectionIsRefusedWithAReason) {
  ASSERT_EQ(::geteuid(), 0u) << "this test switches to another user, so it runs as root";
  RouterProcess router(dir_);
  router.Start();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = ::fork();
  if (child == 0) {
    // Another user on the same machine (nobody) connects and sends a command.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(router.port()));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(3);
    const char kList[] = R"({"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":"x","payload":{}})" "\n";
    (void)!::write(fd, kList, sizeof kList - 1);
    // The first line the router sends back, whatever it is.
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') (void)!::write(pipe_fds[1], &c, 1);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  json::object closing = json::parse(got).as_object();
  EXPECT_EQ(Str(closing.at("event")), "connection_closing");
  EXPECT_EQ(Field(closing, "reason"),
            "connection from uid 65534 refused: this router belongs to uid 0 and only takes "
            "commands from its own user (set router.allow_other_users to accept others)");
}

}  // namespace
}  // namespace codeswarm::e2e
