// The self-contained binary (scripts/build.sh --static): `ldd` finds no shared library in it,
// and it works as a worker inside an empty chroot — a directory that holds only the binary,
// /etc/hosts and two device nodes — against a router of the normal build outside, with the mock
// agent and with the openai agent against the stub model server, over HTTP and HTTPS. Proof that
// nothing of the host's userland is needed.
//
// Also HTTPS for the openai agent in either build, against the stub server with a CA made here
// (OpenAiHttpsAgentE2E, label agents): trusted through SSL_CERT_FILE, refused without it.
//
// The Static* tests (label static) need root (mknod, chroot) and the static binary:
// $CODESWARM_STATIC_BINARY, else build-static/codeswarm of the source tree. Without them they
// are skipped, unless CODESWARM_REQUIRE_STATIC=1 (scripts/test.sh), which makes that a failure.
#include <gtest/gtest.h>

#include <cstdio>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

#include "e2e/agent_e2e.h"
#include "e2e/harness.h"
#include "e2e/stub_server.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string StaticBinary() {
  const char* set = std::getenv("CODESWARM_STATIC_BINARY");
  if (set != nullptr && *set != '\0') return set;
  return std::string(CODESWARM_SOURCE_DIR) + "/build-static/codeswarm";
}

bool StaticRequired() {
  const char* required = std::getenv("CODESWARM_REQUIRE_STATIC");
  return required != nullptr && std::string(required) == "1";
}

// Runs argv; fails the test unless it exits 0. Returns its stdout and stderr.
std::string MustRun(const std::vector<std::string>& argv) {
  RunOptions options;
  options.timeout = std::chrono::seconds(60);
  Result<RunResult> run = RunCommand(argv, options);
  EXPECT_TRUE(run.ok()) << argv[0] << ": " << run.status().message();
  if (!run.ok()) return "";
  EXPECT_TRUE(run->status.success())
      << argv[0] << " " << argv.back() << ": " << run->status.ToString() << "\n"
      << run->stderr_text;
  return run->stdout_text + run->stderr_text;
}

// A throwaway CA and a server certificate it signed for the name "localhost" only (no IP
// address), made with the openssl CLI.
struct TestCa {
  std::string ca_file, cert_file, key_file;
};

TestCa MakeTestCa(const std::string& dir) {
  TestCa ca{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes"};
  std::vector<std::string> make_ca = {"openssl",
                                      "req",
                                      "-x509",
                                      "-days",
                                      "2",
                                      "-keyout",
                                      dir + "/ca.key",
                                      "-out",
                                      ca.ca_file,
                                      "-subj",
                                      "/CN=codeswarm test CA",
                                      "-addext",
                                      "basicConstraints=critical,CA:TRUE",
                                      "-addext",
                                      "keyUsage=critical,keyCertSign,cRLSign"};
  make_ca.insert(make_ca.begin() + 2, ec_key.begin(), ec_key.end());
  MustRun(make_ca);
  std::vector<std::string> make_request = {"openssl",   "req",          "-keyout",
                                           ca.key_file, "-out",         dir + "/server.csr",
                                           "-subj",     "/CN=localhost"};
  make_request.insert(make_request.begin() + 2, ec_key.begin(), ec_key.end());
  MustRun(make_request);
  WriteFile(dir + "/server.ext",
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
  MustRun({"openssl", "x509", "-req", "-days", "2", "-in", dir + "/server.csr", "-CA", ca.ca_file,
           "-CAkey", dir + "/ca.key", "-CAcreateserial", "-extfile", dir + "/server.ext", "-out",
           ca.cert_file});
  return ca;
}

// The workers' CA settings: `file` as SSL_CERT_FILE ("" for none) and no SSL_CERT_DIR, whatever
// the environment running the tests says (CI images often set both).
AgentUnderTest::Env CaEnvironment(const std::string& file) {
  return {{"SSL_CERT_FILE", file}, {"SSL_CERT_DIR", ""}};
}

json::object OpenAiAgent(const std::string& base_url, int max_retries = 0) {
  return {
      {"kind", "openai"},
      {"openai", {{"base_url", base_url}, {"model", "stub-model"}, {"max_retries", max_retries}}}};
}

// A router of the normal build with a client, whose workers run under `worker_command`.
class RouterWithClient {
 public:
  RouterWithClient(const TempDir& dir, json::object overrides, AgentUnderTest::Env env = {})
      : router_(dir, std::move(overrides), std::move(env)) {
    router_.Start();
    client_.emplace(router_.port());
  }
  ProtocolClient& client() { return *client_; }
  std::string log() const { return router_.log(); }

 private:
  RouterProcess router_;
  std::optional<ProtocolClient> client_;
};

// ---- The static binary in an empty chroot ----------------------------------------------------

class StaticBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // ctest reads stdout through a pipe: line-buffered, a test killed by its timeout still shows
    // how far it got.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    binary_ = StaticBinary();
    std::string missing;
    if (!fs::exists(binary_)) {
      missing = "no static binary at " + binary_ + " (scripts/build.sh --static builds it)";
    } else if (::geteuid() != 0) {
      missing = "not root: mknod and chroot need root";
    }
    if (!missing.empty()) {
      if (StaticRequired()) FAIL() << missing;
      GTEST_SKIP() << missing;
    }
    dir_.emplace("cs-static");
    root_ = dir_->path() + "/root";
    fs::create_directories(root_ + "/etc");
    fs::create_directories(root_ + "/dev");
    fs::copy_file(binary_, root_ + "/codeswarm");
    WriteFile(root_ + "/etc/hosts", "127.0.0.1 localhost\n");
    ASSERT_EQ(::mknod((root_ + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0)
        << std::strerror(errno);
    ASSERT_EQ(::mknod((root_ + "/dev/urandom").c_str(), S_IFCHR | 0444, makedev(1, 9)), 0)
        << std::strerror(errno);
    // Nothing else: no /lib, no /usr, no /etc/ssl, no /proc, no shell.
    std::vector<std::string> entries;
    for (const auto& e : fs::recursive_directory_iterator(root_))
      entries.push_back(e.path().string());
    ASSERT_EQ(entries.size(), 6u);
  }

  // The config that runs every worker as the static binary chrooted into root_, and gives it the
  // router's address by name: "localhost" resolves from the chroot's /etc/hosts.
  json::object ChrootWorkers(json::object agent) const {
    return {
        {"cluster", {{"local", {{"worker_command", {"chroot", root_, "/codeswarm", "worker"}}}}}},
        {"router", {{"worker_advertise_host", "localhost"}}},
        {"agent", std::move(agent)}};
  }

  std::string binary_;
  std::optional<TempDir> dir_;
  std::string root_;
};

TEST_F(StaticBinaryTest, LddFindsNoSharedLibrary) {
  RunOptions options;
  Result<RunResult> ldd = RunCommand({"ldd", binary_}, options);
  ASSERT_TRUE(ldd.ok()) << ldd.status().message();
  EXPECT_NE((ldd->stdout_text + ldd->stderr_text).find("not a dynamic executable"),
            std::string::npos)
      << ldd->stdout_text << ldd->stderr_text;
  std::string version = MustRun({binary_, "--version"});
  EXPECT_NE(version.find(CODESWARM_VERSION), std::string::npos) << version;
}

TEST_F(StaticBinaryTest, WorkersInAnEmptyChrootRunMockTurns) {
  RouterWithClient router(*dir_, ChrootWorkers({{"kind", "mock"}}));
  std::string swarm = LaunchSwarm(router.client(), 2, {}, "You are chrooted.");
  ASSERT_FALSE(swarm.empty()) << router.log();
  for (int round = 0; round < 2; ++round) {
    std::string prompt = "round " + std::to_string(round);
    std::map<int, NodeTurn> turns = InjectAndWait(router.client(), swarm, prompt);
    ASSERT_EQ(turns.size(), 2u);
    for (auto& [node, t] : turns) {
      EXPECT_EQ(t.status, "completed") << t.error;
      EXPECT_EQ(t.content, "node " + std::to_string(node) + " heard: " + prompt);
      EXPECT_EQ(t.streamed, t.content);
      EXPECT_TRUE(t.usage);
    }
  }
  TerminateSwarm(router.client(), swarm);
}

TEST_F(StaticBinaryTest, WorkersInAnEmptyChrootRunOpenAiTurnsAgainstTheStub) {
  StubModelServer stub;
  std::string base_url = "http://localhost:" + std::to_string(stub.port()) + "/v1";
  RouterWithClient router(*dir_, ChrootWorkers(OpenAiAgent(base_url)));
  std::string swarm = LaunchSwarm(router.client(), 2, {}, "You are chrooted.");
  ASSERT_FALSE(swarm.empty()) << router.log();
  for (const std::string prompt : {"first [chroot]", "second [chroot]"}) {
    std::map<int, NodeTurn> turns = InjectAndWait(router.client(), swarm, prompt);
    ASSERT_EQ(turns.size(), 2u);
    for (auto& [node, t] : turns) {
      EXPECT_EQ(t.status, "completed") << t.error;
      EXPECT_EQ(t.content, "Hello from the stub model.");
      EXPECT_EQ(t.streamed, t.content);
    }
  }
  EXPECT_EQ(stub.Requests("/v1/chat/completions").size(), 4u);
  TerminateSwarm(router.client(), swarm);
}

TEST_F(StaticBinaryTest, WorkersInAnEmptyChrootSpeakHttpsWithTheCaNamedBySslCertFile) {
  TestCa ca = MakeTestCa(dir_->path());
  fs::copy_file(ca.ca_file, root_ + "/ca.pem");
  StubModelServer stub(StubModelServer::Tls{ca.cert_file, ca.key_file});
  std::string base_url = "https://localhost:" + std::to_string(stub.port()) + "/v1";
  RouterWithClient router(*dir_, ChrootWorkers(OpenAiAgent(base_url)), CaEnvironment("/ca.pem"));
  std::string swarm = LaunchSwarm(router.client(), 1, {}, "You are chrooted.");
  ASSERT_FALSE(swarm.empty()) << router.log();
  std::map<int, NodeTurn> turns = InjectAndWait(router.client(), swarm, "hello [tls]");
  EXPECT_EQ(turns[0].status, "completed") << turns[0].error;
  EXPECT_EQ(turns[0].content, "Hello from the stub model.");
  TerminateSwarm(router.client(), swarm);
}

TEST_F(StaticBinaryTest, WithoutAnyCaCertificateHttpsFailsNamingWhereItLooked) {
  TestCa ca = MakeTestCa(dir_->path());
  StubModelServer stub(StubModelServer::Tls{ca.cert_file, ca.key_file});
  std::string base_url = "https://localhost:" + std::to_string(stub.port()) + "/v1";
  RouterWithClient router(*dir_, ChrootWorkers(OpenAiAgent(base_url)), CaEnvironment(""));
  std::string swarm = LaunchSwarm(router.client(), 1, {}, "You are chrooted.");
  ASSERT_FALSE(swarm.empty()) << router.log();
  std::map<int, NodeTurn> turns = InjectAndWait(router.client(), swarm, "hello [no ca]");
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(
      turns[0].error,
      "cannot reach " + base_url +
          "/chat/completions: no CA certificates to verify HTTPS "
          "servers with: SSL_CERT_FILE and SSL_CERT_DIR are not set, and none of "
          "/etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, "
          "/etc/ssl/ca-bundle.pem, /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem, "
          "/etc/ssl/cert.pem, or the directory /etc/ssl/certs exists; install the system's CA "
          "certificates (ca-certificates) or set SSL_CERT_FILE to a PEM bundle");
  TerminateSwarm(router.client(), swarm);
}

TEST_F(StaticBinaryTest, RouterCliAndWorkersAllFromTheStaticBinary) {
  // The harness only writes the config here; every process is the static binary: the router,
  // the workers it starts (its own executable) and each CLI command.
  RouterProcess config(*dir_);
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {binary_, "--config", config.config_path(), "--no-autostart"});
    RunOptions options;
    options.timeout = std::chrono::seconds(60);
    Result<RunResult> run = RunCommand(args, options);
    EXPECT_TRUE(run.ok()) << run.status().message();
    return run.ok() ? *run : RunResult{};
  };
  SpawnOptions router_options;
  router_options.argv = {binary_, "--config", config.config_path(), "router"};
  router_options.new_process_group = true;
  router_options.stdout_mode = StdioMode::kFile;
  router_options.stderr_mode = StdioMode::kFile;
  router_options.stdout_file = dir_->path() + "/router.out";
  router_options.stderr_file = router_options.stdout_file;
  Result<Subprocess> router = Subprocess::Spawn(router_options);
  ASSERT_TRUE(router.ok()) << router.status().message();
  ASSERT_TRUE(Eventually([&] { return cli({"list"}).status.success(); }, 10s)) << config.log();

  RunResult launched = cli({"launch", "--nodes", "2", "--prompt", "You are static."});
  ASSERT_TRUE(launched.status.success()) << launched.stdout_text << launched.stderr_text;
  std::size_t at = launched.stdout_text.find("launched swarm ");
  ASSERT_NE(at, std::string::npos) << launched.stdout_text;
  std::string swarm =
      launched.stdout_text.substr(at + 15, launched.stdout_text.find(':', at) - at - 15);
  RunResult injected = cli({"inject", swarm, "--prompt", "hello static"});
  EXPECT_TRUE(injected.status.success()) << injected.stdout_text << injected.stderr_text;
  EXPECT_NE(injected.stdout_text.find("node 0 heard: hello static"), std::string::npos)
      << injected.stdout_text;
  EXPECT_NE(injected.stdout_text.find("node 1 heard: hello static"), std::string::npos)
      << injected.stdout_text;
  EXPECT_NE(injected.stdout_text.find("2/2 nodes completed"), std::string::npos)
      << injected.stdout_text;
  EXPECT_TRUE(cli({"terminate", swarm}).status.success());

  router->Signal(SIGTERM);
  std::optional<ExitStatus> exit = router->WaitFor(std::chrono::seconds(10));
  if (!exit) {
    router->Signal(SIGKILL);
    router->Wait();
  }
  EXPECT_TRUE(exit && exit->success()) << ReadFile(router_options.stdout_file);
}

// ---- HTTPS in the build under test (label agents) --------------------------------------------

class OpenAiHttpsAgentE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeTestCa(dir_.path());
    stub_.emplace(StubModelServer::Tls{ca_.cert_file, ca_.key_file});
  }
  std::string Url(const std::string& host) const {
    return "https://" + host + ":" + std::to_string(stub_->port()) + "/v1";
  }
  NodeTurn OneTurn(const std::string& base_url, AgentUnderTest::Env env) {
    RouterWithClient router(dir_, {{"agent", OpenAiAgent(base_url)}}, std::move(env));
    std::string swarm = LaunchSwarm(router.client(), 1, {}, "");
    EXPECT_FALSE(swarm.empty()) << router.log();
    if (swarm.empty()) return {};
    NodeTurn turn = InjectAndWait(router.client(), swarm, "hello [https]")[0];
    TerminateSwarm(router.client(), swarm);
    return turn;
  }

  TempDir dir_{"cs-https"};
  TestCa ca_;
  std::optional<StubModelServer> stub_;
};

TEST_F(OpenAiHttpsAgentE2E, CompletesWhenSslCertFileNamesTheServersCa) {
  NodeTurn t = OneTurn(Url("localhost"), CaEnvironment(ca_.ca_file));
  EXPECT_EQ(t.status, "completed") << t.error;
  EXPECT_EQ(t.content, "Hello from the stub model.");
}

TEST_F(OpenAiHttpsAgentE2E, RefusesACertificateTheSystemCasDoNotVouchFor) {
  // The worker looks in the usual places and finds this machine's CA bundle (or none): neither
  // trusts the test CA.
  NodeTurn t = OneTurn(Url("localhost"), CaEnvironment(""));
  EXPECT_EQ(t.status, "failed");
  std::string expected = "cannot reach " + Url("localhost") + "/chat/completions: ";
  EXPECT_EQ(t.error.rfind(expected, 0), 0u) << t.error;
  bool untrusted =
      t.error.find("TLS handshake with localhost:" + std::to_string(stub_->port()) +
                   " failed: the server's certificate is not accepted: ") != std::string::npos;
  bool no_ca = t.error.find("no CA certificates to verify HTTPS servers with") != std::string::npos;
  EXPECT_TRUE(untrusted || no_ca) << t.error;
}

TEST_F(OpenAiHttpsAgentE2E, RefusesACertificateForAnotherName) {
  // The certificate names localhost only, not 127.0.0.1.
  NodeTurn t = OneTurn(Url("127.0.0.1"), CaEnvironment(ca_.ca_file));
  EXPECT_EQ(t.status, "failed");
  EXPECT_NE(t.error.find("the server's certificate is not accepted: IP address mismatch"),
            std::string::npos)
      << t.error;
}

}  // namespace
}  // namespace codeswarm::e2e
